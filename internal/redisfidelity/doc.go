// Package redisfidelity holds the checks a Redis stand-in must pass to
// replace redis-server in the demo and in tests: absolute expiry (SET ...
// PXAT, PEXPIREAT, PEXPIRETIME, PTTL), expiry at the absolute instant,
// reads of several keys at once (MGET), Lua scripts and transactions, the
// server's clock (TIME, stream ids), and what store/redisstore builds on
// them (data key and sidecar, both with the record's PXAT, and its
// scripts).
//
// [Run] runs them against any server; the tests of internal/embedredis and
// of the demo's backends run them against internal/embedredis and a real
// redis-server (internal/redistest), so the two are held to the same
// answers.
//
// The checks run in real time, against the server's own clock, and stay
// exact under any load: a check that depends on when the server read its
// clock brackets the command between two readings of this process's clock
// (the same wall clock on one machine) and accepts exactly what a server
// that read its clock in between could answer. Nothing is tolerated that
// redis-server could not answer.
package redisfidelity
