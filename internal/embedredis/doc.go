// Package embedredis is an in-process Redis for the demo and for fast
// tests: miniredis (github.com/alicebob/miniredis/v2), driven so that
// expiry and time behave as on a real redis-server. [Start] listens on a
// free 127.0.0.1 port; [Server.Close] stops it. internal/redisfidelity
// holds it to redis-server's answers.
//
// # Why not plain miniredis
//
// Out of the box miniredis keeps a key's TTL as a duration that only
// FastForward shortens: a key set with SET ... PXAT never expires in real
// time. With ClockTTL, miniredis counts TTLs down as its clock (SetTime)
// moves; the demo used to move it from a time.Ticker. That clock lagged
// real time by the ticker's delay (PTTL, TIME and relative expiries were
// off, expired keys were served), SET parsed a PXAT against the clock
// before taking miniredis's lock (a data race with SetTime, and a TTL
// counted from another clock than the one it was taken against), and,
// worst, a ticker's values are not monotonic under load (a tick's value is
// the time it was sent minus a lateness measured earlier): when the clock
// stepped back, miniredis restarted its countdown from the earlier time
// without giving the TTLs back, and every key's expiry moved earlier by
// the step, for good.
//
// # How the time is kept exact
//
// embedredis owns miniredis's pre-command hook. Every command a client
// sends runs through it, one at a time, under a lock of this package: the
// hook reads the real clock once, truncated to the millisecond like
// Redis's, and never behind an earlier command's (a wall clock stepped
// back is held where it was), and runs the command to its end at that
// time T. A Lua script's calls run inside its EVAL, at its T, as in Redis.
//
// miniredis's own clock C is moved (SetTime) only between commands and
// only forward, so its countdown stays exact: for every key, remaining TTL
// + the time miniredis last counted to = the absolute expiry, in whole
// milliseconds. Moving it costs miniredis a pass over every key, so C
// moves to T only when an answer depends on it, and otherwise lags:
//
//   - Before a command whose answer reads the time itself (TIME, TTL,
//     PTTL, XADD, stream idle times, OBJECT, RESTORE, EXEC, a script whose
//     source may call one of those), C moves to T.
//   - A relative expiry (SET EX/PX, SETEX, PSETEX, GETEX EX/PX, EXPIRE,
//     PEXPIRE) is rewritten to the absolute one Redis computes, T + TTL; an
//     absolute expiry not after T is rewritten to one long past, so that
//     miniredis deletes the key at once, as Redis does. miniredis stores an
//     absolute expiry as expiry − C, counted down from C: exact, whatever C.
//   - The hook keeps a lower bound of every expiry that C has not passed.
//     When T reaches it, C moves to T before the command runs, and
//     miniredis removes what expired. Otherwise no key expires between C
//     and T, and a command that depends on the time only through which
//     keys are live answers what it would at T.
//
// So PEXPIRETIME answers the PXAT that was written, to the millisecond;
// PTTL the expiry minus the real time at which the command began; a key is
// gone for every command that begins at or after its expiry; TTL and
// EXPIRETIME round to the nearest second as Redis does (miniredis
// truncates). The session store's traffic (its scripts, MGET) moves C only
// when a key expires.
//
// # What differs from redis-server
//
//   - During the millisecond of its expiry (real time == PXAT) redis-server
//     still answers for a key (PTTL 0) and removes it from the next
//     millisecond on; here it is gone from that millisecond. (redis-server
//     itself deletes at once a key SET with that PXAT, as this server
//     does.) A store that treats a record as expired at its expiry instant,
//     as every store of this module does, cannot tell.
//   - TIME answers the command's clock: whole milliseconds.
//   - A transaction (MULTI) that queues a SET or GETEX with an absolute
//     expiry (EXAT, PXAT) holds the clock lock from that command to EXEC or
//     DISCARD, because miniredis parses those expiries when it queues the
//     command: other connections' commands wait meanwhile, and the whole
//     transaction runs at the time of that command (Redis runs it at
//     EXEC's). Other transactions run at EXEC's time. TTL and EXPIRETIME
//     queued in a transaction truncate, as miniredis does.
//   - Blocking commands (BLPOP, XREAD BLOCK, …) run outside the lock,
//     which they would otherwise hold while they wait, on C as it is.
//   - Once a hash field is given an expiry (HEXPIRE, HSETEX), C moves to T
//     before every command: the lower bound does not follow hash fields.
//     That is exact but slow.
//   - OBJECT IDLETIME counts from access times taken on C.
//   - The command tables were audited against miniredis v2.40.0, the
//     version go.mod pins; a test fails when it changes.
//   - Everything miniredis does not implement, or implements differently,
//     stays so: scripting is an interpreter inside this process and far
//     slower than Redis; there is no cluster, no persistence, no
//     replication. Use a real redis-server (internal/redistest) for what
//     depends on those.
//
// The clock is injectable ([Options.Now]), so tests can move it by hand;
// with a fake clock, keys expire exactly when the test says.
package embedredis
