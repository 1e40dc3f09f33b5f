package redisstore

import (
	"context"
	"slices"

	"github.com/redis/go-redis/v9"
)

// The Lua scripts. Every script receives the data key as KEYS[1] and its
// sidecar as KEYS[2]: both hash to one slot, so the scripts run on any
// topology, cluster included. Expiry instants arrive as absolute
// milliseconds (PXAT), decided by the Go side: see the package
// documentation on clocks.
//
// Each Store wraps them in redis.Script values; Script.Run and RunRO send
// EVALSHA and fall back to EVAL when the server answers NOSCRIPT (after a
// restart, failover or SCRIPT FLUSH), so the scripts need no explicit
// loading.

// luaPrelude holds the helpers shared by the write scripts.
//
// Versions stay strings: Lua numbers are float64 and would round versions
// above 2^53, so cmpver compares canonical decimals exactly: equal strings
// at once (Lua interns strings, so == compares pointers), then by length,
// then by their float64 values, which decide whenever they differ (strtod
// rounds correctly, and so monotonically: a < b gives x <= y), and only
// when they round to the same float64 byte by byte (string.byte, not '<',
// which follows the server's collation locale). The float comparison is
// what makes a compare cheap: a byte loop over versions that share their
// first fifteen digits costs thirty calls into C.
// parse mirrors decodeSidecar in sidecar.go exactly (TestSidecarParsersAgree
// holds them to it); it returns 'x' for a value that does not decode.
const luaPrelude = `
local U64, I64 = '18446744073709551615', '9223372036854775807'

local function cmpver(a, b)
  if a == b then return 0 end
  if #a ~= #b then
    if #a < #b then return -1 end
    return 1
  end
  local x, y = tonumber(a), tonumber(b)
  if x ~= y then
    if x < y then return -1 end
    return 1
  end
  for i = 1, #a do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then
      if x < y then return -1 end
      return 1
    end
  end
  return 0
end

-- canon reports whether the digits n are a canonical decimal of at most max.
local function canon(n, max)
  if #n > 1 and string.byte(n, 1) == 48 then return false end
  return #n < #max or (#n == #max and cmpver(n, max) <= 0)
end

-- parse decodes a sidecar value: kind, version and, for a record that
-- carries it, expiry; or 'x'.
local function parse(v)
  local kind, n, px = string.match(v, '^(d)([0-9]+):([0-9]+)$')
  if kind then
    if not canon(px, I64) then return 'x' end
  else
    kind, n = string.match(v, '^([dt])([0-9]+)$')
    if not kind then return 'x' end
  end
  if not canon(n, U64) then return 'x' end
  return kind, n, px
end

local function sidecar(key)
  local v = redis.call('GET', key)
  if not v then return nil end
  return parse(v)
end

-- blocked reports whether a write at version v must not replace what is
-- stored: a tombstone at v or above (a delete wins a tie), or a live record
-- above v (EXISTS only then: a record's sidecar can outlive a data key that
-- something else deleted). tieBlocks is false for DeleteVersion, which
-- replaces a tombstone at its own version.
local function blocked(kind, ver, v, tieBlocks, dataKey)
  if kind == 't' then
    local c = cmpver(ver, v)
    return c > 0 or (c == 0 and tieBlocks)
  end
  if kind == 'd' and cmpver(ver, v) > 0 then
    return redis.call('EXISTS', dataKey) == 1
  end
  return false
end

-- put is a versioned Set: data at version v with the sidecar value side,
-- both expiring at px. SET ... NX GET claims a missing sidecar and reads an
-- existing one in one call, so a session new to Redis (what a backfill or
-- a lazy copy mostly writes) costs two calls, and one already there three
-- (an equal version included: the contract rewrites it). One exception
-- replaces the rewrite by a cheaper read: a sidecar that already holds
-- side itself, with its expiry (a ':'), and expires at that very
-- millisecond is what the rewrite would store, so only the data is
-- written. That is what a backfill mostly meets in Redis: the sessions
-- dual writes already put there. The expiry is read, not assumed: every
-- writer of such a value sets PXAT to the expiry it carries, but a
-- resharding moves keys with their remaining time to live (MIGRATE), which
-- can shift it by the transfer's milliseconds; the rewrite realigns it.
local function put(dk, sk, data, v, side, px)
  local old = redis.call('SET', sk, side, 'PXAT', px, 'NX', 'GET')
  if old and (old ~= side or not string.find(side, ':', 2, true)
              or redis.call('PEXPIRETIME', sk) ~= tonumber(px)) then
    local kind, ver = parse(old)
    if kind == 'x' then return -1 end
    if blocked(kind, ver, v, true, dk) then return 0 end
    redis.call('SET', sk, side, 'PXAT', px)
  end
  redis.call('SET', dk, data, 'PXAT', px)
  return 1
end

-- cdel is a versioned Set whose expiry has passed: a compare-and-delete
-- that leaves no tombstone.
local function cdel(dk, sk, v)
  local kind, ver = sidecar(sk)
  if kind == 'x' then return -1 end
  if blocked(kind, ver, v, true, dk) then return 0 end
  redis.call('DEL', dk, sk)
  return 1
end
`

// Script results.
const (
	resultApplied int64 = 1
	resultSkipped int64 = 0
	resultCorrupt int64 = -1
)

// setVersionedLua is a versioned Set. ARGV: data, version, expiry in Unix
// ms or "" for a past expiry (compare-and-delete, leaving no tombstone),
// the sidecar value for version and expiry (ignored for "").
const setVersionedLua = luaPrelude + `
if ARGV[3] == '' then return cdel(KEYS[1], KEYS[2], ARGV[2]) end
return put(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[4], ARGV[3])
`

// setManyVersionedLua is setVersionedLua over many entries in one call:
// KEYS are data/sidecar pairs, ARGV data/version/expiry/sidecar
// quadruples, and it returns one result per entry. Its keys span slots, so
// it only runs where scripts may touch any key (not on a cluster); SetMany
// decides.
const setManyVersionedLua = luaPrelude + `
local res = {}
for i = 1, #KEYS / 2 do
  local dk, sk, j = KEYS[2 * i - 1], KEYS[2 * i], 4 * i
  if ARGV[j - 1] == '' then
    res[i] = cdel(dk, sk, ARGV[j - 2])
  else
    res[i] = put(dk, sk, ARGV[j - 3], ARGV[j - 2], ARGV[j], ARGV[j - 1])
  end
end
return res
`

// deleteVersionLua is DeleteVersion. ARGV: version, tombstone expiry in
// Unix ms or "" for a past until (no tombstone).
const deleteVersionLua = luaPrelude + `
local kind, ver = sidecar(KEYS[2])
if kind == 'x' then return -1 end
if blocked(kind, ver, ARGV[1], false, KEYS[1]) then return 0 end
redis.call('DEL', KEYS[1])
if ARGV[2] == '' then
  redis.call('DEL', KEYS[2])
else
  redis.call('SET', KEYS[2], 't' .. ARGV[1], 'PXAT', ARGV[2])
end
return 1
`

// setLatestLua is one attempt of SetLatest: a compare-and-set that stores
// the record at its version only when the sidecar holds a lower one (or
// nothing). It returns 1 when it stored, else the stored version (a decimal
// string), which the Go side tries again above. An attempt never stores
// above the version it carries: a command the client gave up on that
// reaches the server after a newer write was stored changes nothing (see
// SetLatest). ARGV: data, version, expiry in Unix ms (in the future: the Go
// side refuses anything else), the sidecar value for version and expiry.
const setLatestLua = luaPrelude + `
local old = redis.call('SET', KEYS[2], ARGV[4], 'PXAT', ARGV[3], 'NX', 'GET')
if old then
  local kind, ver = parse(old)
  if kind == 'x' then return -1 end
  if cmpver(ver, ARGV[2]) >= 0 then return ver end
  redis.call('SET', KEYS[2], ARGV[4], 'PXAT', ARGV[3])
end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[3])
return 1
`

// deleteLatestLua is one attempt of DeleteLatest: a tombstone at the
// version it carries, only when the sidecar holds a lower one (or nothing).
// It returns 1 when it deleted, else the stored version (a decimal string),
// as setLatestLua. ARGV: version, tombstone expiry in Unix ms, "auto" for
// the deleted record's own expiry, or "" for no tombstone; then the
// fallback expiry for "auto" when no record is stored ("" for none). The
// record's own expiry is read from the data key, not the sidecar: the data
// key is the truth, whoever wrote it.
const deleteLatestLua = luaPrelude + `
local kind, ver = sidecar(KEYS[2])
if kind == 'x' then return -1 end
if kind and cmpver(ver, ARGV[1]) >= 0 then return ver end
local px = ARGV[2]
if px == 'auto' then
  px = ARGV[3]
  if kind == 'd' then
    local e = redis.call('PEXPIRETIME', KEYS[1])
    if e > 0 then px = e end
  end
end
redis.call('DEL', KEYS[1])
if px == '' then
  redis.call('DEL', KEYS[2])
else
  redis.call('SET', KEYS[2], 't' .. ARGV[1], 'PXAT', px)
end
return 1
`

// setLua is an unversioned Set with a future expiry: it overwrites
// unconditionally, a tombstone included, and stores version 0. ARGV: data,
// expiry in Unix ms, the sidecar value for version 0 and that expiry.
const setLua = `
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
redis.call('SET', KEYS[2], ARGV[3], 'PXAT', ARGV[2])
return 1
`

// getLua reads a record atomically with its data key's absolute expiry in
// Unix ms (-2 if the key is gone, -1 if it has no expiry): data, sidecar,
// PEXPIRETIME. It is the fallback read, only for records whose sidecar does
// not carry the expiry (see readRecords). It runs with EVALSHA_RO, so it
// may run on replicas too. It has no "#!lua flags=no-writes" line: EVAL_RO
// needs none, and embedded Redis implementations used for demos and fast
// tests (miniredis) cannot parse one.
const getLua = `return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2]), redis.call('PEXPIRETIME', KEYS[1])}
`

// script is a Lua script of a Store: its text and SHA1, boxed once, so a
// command that runs it is one slice built by the caller (EVALSHA, the
// hash, the key count, the data key and its sidecar, the arguments).
// redis.Script's helpers would copy keys and arguments into slices of
// their own on every call.
type script struct {
	*redis.Script
	sha, src any
}

func newScript(src string) *script {
	s := redis.NewScript(src)
	return &script{Script: s, sha: s.Hash(), src: src}
}

// cmd returns the start of a command running sc on dataKey and sideKey,
// with room for n arguments to be appended.
func (sc *script) cmd(dataKey, sideKey string, n int) []any {
	c := make([]any, 5, 5+n)
	c[0], c[1], c[2], c[3], c[4] = "evalsha", sc.sha, 2, dataKey, sideKey
	return c
}

// processor is a client or a pipeline.
type processor interface {
	Process(ctx context.Context, cmd redis.Cmder) error
}

// send queues or sends args (built by cmd) through p; with eval set, as
// EVAL with the script's text instead of EVALSHA.
func (sc *script) send(ctx context.Context, p processor, args []any, eval bool) *redis.Cmd {
	if eval {
		args = slices.Clone(args)
		args[0], args[1] = "eval", sc.src
	}
	c := redis.NewCmd(ctx, args...)
	c.SetFirstKeyPos(3)   // the data key: cluster clients route by it
	_ = p.Process(ctx, c) // the error is also c's
	return c
}

// run sends args through c, and sends them again as EVAL when the server
// has lost the script (NOSCRIPT: after a restart, failover or SCRIPT FLUSH).
func (sc *script) run(ctx context.Context, c processor, args []any) *redis.Cmd {
	r := sc.send(ctx, c, args, false)
	if redis.HasErrorPrefix(r.Err(), "NOSCRIPT") {
		r = sc.send(ctx, c, args, true)
	}
	return r
}

// scripts are the compiled forms of the scripts above, one set per Store so
// that no state is shared between stores.
type scripts struct {
	setVersioned, deleteVersion, set, setManyVersioned *script
	setLatest, deleteLatest                            *script
	get                                                *redis.Script
}

func newScripts() scripts {
	return scripts{
		setVersioned:     newScript(setVersionedLua),
		deleteVersion:    newScript(deleteVersionLua),
		set:              newScript(setLua),
		get:              redis.NewScript(getLua),
		setManyVersioned: newScript(setManyVersionedLua),
		setLatest:        newScript(setLatestLua),
		deleteLatest:     newScript(deleteLatestLua),
	}
}
