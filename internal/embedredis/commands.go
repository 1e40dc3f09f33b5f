package embedredis

import (
	"crypto/sha1"
	"encoding/hex"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The commands of miniredis v2.40.0, sorted by how they use the time. A
// new miniredis version must be audited again (TestMiniredisVersion): a
// command missing here is taken not to use the time at all.
//
// Expiry setters (SET, SETEX, PSETEX, GETEX, EXPIRE, PEXPIRE, EXPIREAT,
// PEXPIREAT) are prepared: a relative expiry becomes the absolute one
// Redis would compute (now + TTL), and an absolute one that is not in the
// future becomes a long past one, so that they are exact on a lagging
// miniredis clock (see prepare).

// readsClock are the commands whose answer or effect depends on the time
// itself, not only on which keys are live: miniredis's clock moves to the
// command's before they run.
var readsClock = map[string]bool{
	"TIME": true, "TTL": true, "PTTL": true, "OBJECT": true, "RESTORE": true,
	"XADD": true, "XAUTOCLAIM": true, "XCLAIM": true, "XGROUP": true, "XINFO": true,
	"XPENDING": true, "XREADGROUP": true, "EXEC": true,
	"HEXPIRE": true, "HPERSIST": true, "HPTTL": true, "HSETEX": true, "HTTL": true,
}

// setsHashTTLs are the commands that can give a hash field an expiry.
var setsHashTTLs = map[string]bool{"HEXPIRE": true, "HSETEX": true}

// blocking reports whether cmd may wait for another client.
func blocking(cmd string, args []string) bool {
	switch cmd {
	case "BLPOP", "BRPOP", "BRPOPLPUSH", "BLMOVE", "BLMPOP", "BZPOPMIN", "BZPOPMAX", "BZMPOP":
		return true
	case "XREAD", "XREADGROUP":
		return hasOption(args, "BLOCK")
	}
	return false
}

// absoluteExpiry reports whether cmd carries an absolute expiry that
// miniredis parses before it runs (or queues) the command.
func absoluteExpiry(cmd string, args []string) bool {
	switch {
	case cmd == "SET" && len(args) > 2:
		return hasOption(args[2:], "EXAT") || hasOption(args[2:], "PXAT")
	case cmd == "GETEX" && len(args) > 1:
		return hasOption(args[1:], "EXAT") || hasOption(args[1:], "PXAT")
	}
	return false
}

// hasOption reports whether args holds opt, in any case.
func hasOption(args []string, opt string) bool {
	return slices.ContainsFunc(args, func(a string) bool { return strings.EqualFold(a, opt) })
}

// prepare readies a command (a client's, outside a transaction, or a
// script's call) to run at the clock's latest time: it rewrites expiries
// so that miniredis stores exactly the absolute expiry Redis would, whatever
// miniredis's clock, records them in due, and reports whether the command
// needs miniredis's clock to be the command's. changed is false when args
// is returned as it is.
func (c *clock) prepare(cmd string, args []string) (newCmd string, newArgs []string, changed, needsClock bool) {
	c.notice(cmd, args)
	now := c.latest.UnixMilli()
	switch cmd {
	case "SET", "GETEX":
		opts := 2
		if cmd == "GETEX" {
			opts = 1
		}
		i, ms, ok := expiryOption(args, opts, now)
		if !ok {
			break
		}
		newArgs = slices.Clone(args)
		newArgs[i], newArgs[i+1] = "PXAT", c.absolute(ms, now)
		return cmd, newArgs, true, false
	case "SETEX", "PSETEX":
		unit := int64(1000)
		if cmd == "PSETEX" {
			unit = 1
		}
		if len(args) != 3 {
			break
		}
		if ms, ok := after(now, args[1], unit); ok && ms > now {
			return "SET", []string{args[0], args[2], "PXAT", c.absolute(ms, now)}, true, false
		}
	case "EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT":
		if len(args) < 2 {
			break
		}
		unit := int64(1000)
		if cmd == "PEXPIRE" || cmd == "PEXPIREAT" {
			unit = 1
		}
		base := now
		if cmd == "EXPIREAT" || cmd == "PEXPIREAT" {
			base = 0
		}
		if ms, ok := after(base, args[1], unit); ok {
			newArgs = slices.Clone(args)
			newArgs[1] = c.absolute(ms, now)
			return "PEXPIREAT", newArgs, true, false
		}
		// miniredis refuses what does not parse: nothing to prepare.
	case "EVAL", "EVAL_RO":
		if len(args) > 0 {
			return cmd, args, false, c.script(args[0])
		}
	case "EVALSHA", "EVALSHA_RO":
		if len(args) > 0 {
			// A script the hook has not seen, which miniredis does not
			// know either, is taken to read the time all the same.
			readsTime, known := c.scripts[strings.ToLower(args[0])]
			return cmd, args, false, readsTime || !known
		}
	case "SCRIPT":
		c.scriptLoad(args)
	case "RESTORE":
		// It runs with miniredis's clock moved to now (readsClock).
		c.noteRestore(args, now)
	}
	return cmd, args, false, readsClock[cmd] || c.hashTTLs
}

// absolute returns the PXAT argument that makes miniredis store the
// absolute expiry ms (Unix milliseconds) for a command at now, and records
// it: ms itself, or, when it is not in the future, 1 (1ms after the
// epoch): in the past for miniredis's clock too, which may lag now, so
// that miniredis deletes the key at once, as Redis does.
func (c *clock) absolute(ms, now int64) string {
	if ms <= now {
		return "1"
	}
	c.expiring(ms)
	return strconv.FormatInt(ms, 10)
}

// expiryOption finds the expiry option (EX, PX, EXAT, PXAT) of a SET or
// GETEX whose options start at args[from], exactly as miniredis parses
// them, and returns its index and absolute expiry in Unix ms for a command
// at now. ok is false when there is none, or when miniredis would refuse
// the command.
func expiryOption(args []string, from int, now int64) (i int, ms int64, ok bool) {
	if len(args) < from {
		return 0, 0, false
	}
	found := false
	for j := from; j < len(args); j++ {
		var unit, base int64
		switch strings.ToUpper(args[j]) {
		case "NX", "XX", "KEEPTTL", "GET", "PERSIST":
			continue
		case "EX":
			unit, base = 1000, now
		case "PX":
			unit, base = 1, now
		case "EXAT":
			unit, base = 1000, 0
		case "PXAT":
			unit, base = 1, 0
		default:
			return 0, 0, false
		}
		if found || j+1 == len(args) {
			return 0, 0, false // miniredis refuses a second expiry, or a missing value
		}
		v, err := strconv.Atoi(args[j+1])
		if err != nil || v <= 0 {
			return 0, 0, false
		}
		t, okT := after(base, args[j+1], unit)
		if !okT {
			return 0, 0, false
		}
		i, ms, found = j, t, true
		j++
	}
	return i, ms, found
}

// after returns base + the integer s (as miniredis parses it) times unit,
// in Unix ms; ok is false when s does not parse or the sum overflows.
func after(base int64, s string, unit int64) (int64, bool) {
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, false
	}
	d := int64(v)
	if d > (math.MaxInt64-max(base, 0))/unit || d < (math.MinInt64+1)/unit {
		return 0, false
	}
	return base + d*unit, true
}

// noteQueued records the expiry that a command queued in a transaction
// will set when EXEC runs it, at or after miniredis's clock now: a lower
// bound of it. EXEC moves the clock first (unless the transaction holds
// it), so the relative expiries count from EXEC, as in Redis.
func (c *clock) noteQueued(cmd string, args []string) {
	c.notice(cmd, args)
	at := c.at.UnixMilli()
	switch cmd {
	case "SET", "GETEX":
		opts := 2
		if cmd == "GETEX" {
			opts = 1
		}
		if _, ms, ok := expiryOption(args, opts, at); ok {
			c.expiring(ms)
		}
	case "SETEX", "PSETEX", "EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT":
		if len(args) < 2 {
			return
		}
		unit := int64(1000)
		if strings.HasPrefix(cmd, "P") {
			unit = 1
		}
		base := at
		if strings.HasSuffix(cmd, "AT") {
			base = 0
		}
		if ms, ok := after(base, args[1], unit); ok {
			c.expiring(ms)
		}
	case "RESTORE":
		c.noteRestore(args, at)
	case "EVAL", "EVAL_RO":
		if len(args) > 0 {
			c.script(args[0])
		}
	case "SCRIPT":
		c.scriptLoad(args)
	}
}

// notice keeps what any command tells about the keyspace: the databases
// it may put keys in, and whether hash fields have expiries.
func (c *clock) notice(cmd string, args []string) {
	dbArg := -1
	switch cmd {
	case "SELECT":
		dbArg = 0
	case "MOVE":
		dbArg = 1
	case "SWAPDB":
		c.noticeDB(args, 0)
		dbArg = 1
	case "COPY":
		for j := 2; j+1 < len(args); j++ {
			if strings.EqualFold(args[j], "DB") {
				dbArg = j + 1
			}
		}
	}
	if dbArg >= 0 {
		c.noticeDB(args, dbArg)
	}
	if setsHashTTLs[cmd] {
		c.hashTTLs = true
	}
}

func (c *clock) noticeDB(args []string, i int) {
	if i < len(args) {
		if n, err := strconv.Atoi(args[i]); err == nil && n >= 0 {
			c.dbs[n] = true
		}
	}
}

// noteRestore records the expiry of RESTORE key ttl value [...] [ABSTTL]
// run when miniredis's clock is now (Unix ms), or later.
func (c *clock) noteRestore(args []string, now int64) {
	if len(args) < 2 {
		return
	}
	base := now
	if hasOption(args[2:], "ABSTTL") {
		base = 0
	}
	if v, err := strconv.Atoi(args[1]); err == nil && v > 0 {
		if ms, ok := after(base, args[1], 1); ok {
			c.expiring(ms)
		}
	}
}

// script records whether the Lua source src may read the time, under its
// SHA1 (what EVALSHA names it by), and returns it.
func (c *clock) script(src string) (readsTime bool) {
	sum := sha1.Sum([]byte(src))
	sha := hex.EncodeToString(sum[:])
	readsTime, ok := c.scripts[sha]
	if !ok {
		readsTime = classifyScript(src)
		c.scripts[sha] = readsTime
	}
	return readsTime
}

// scriptLoad records the script of SCRIPT LOAD src.
func (c *clock) scriptLoad(args []string) {
	if len(args) > 1 && strings.EqualFold(args[0], "LOAD") {
		c.script(args[1])
	}
}

var (
	// luaRedis is every mention of the redis library in a script.
	luaRedis = regexp.MustCompile(`\bredis\b`)
	// luaCall is a call of a command named by a string literal.
	luaCall = regexp.MustCompile(`\bredis\s*\.\s*p?call\s*\(\s*(?:'([A-Za-z_]+)'|"([A-Za-z_]+)")`)
	// luaHelper is a use of a redis library function that runs no command.
	luaHelper = regexp.MustCompile(`\bredis\s*\.\s*(?:sha1hex|error_reply|status_reply|log|LOG_[A-Z]+)\b`)
	// luaEscape is anything that could reach the redis library without
	// naming it: globals by name, compiled strings.
	luaEscape = regexp.MustCompile(`\b(?:_G|_ENV|getfenv|setfenv|load|loadstring|dofile|require|rawget)\b`)
)

// classifyScript reports whether the Lua source src may run a command that
// reads the time (readsClock), judged from its text alone: it may not when
// every mention of the redis library is a call of a command named by a
// literal that does not read the time, or a helper that runs none, and
// nothing reaches the library another way. Anything else may: the script
// then runs with miniredis's clock moved to its command's.
func classifyScript(src string) (readsTime bool) {
	if luaEscape.MatchString(src) {
		return true
	}
	calls := luaCall.FindAllStringSubmatch(src, -1)
	for _, m := range calls {
		name := strings.ToUpper(m[1] + m[2])
		if readsClock[name] || name == "EVAL" || name == "EVALSHA" {
			return true
		}
	}
	mentions := len(luaRedis.FindAllStringIndex(src, -1))
	return mentions != len(calls)+len(luaHelper.FindAllStringIndex(src, -1))
}
