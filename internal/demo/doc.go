// Package demo is a narrated, self-contained walkthrough of a whole
// zero-downtime session migration, for a newcomer to run with one command
// (`migratectl demo`) and understand in a minute.
//
// [Run] starts Redis (a real redis-server on a free loopback port when one
// is installed; otherwise the embedded, in-process miniredis of
// internal/embedredis, whose clock keeps expiries exact as on Redis, with
// wider timeouts because it is slower than Redis; the latency fault needs
// the real server), then
// several application instances in the process, each embedded the way
// examples/sessionapp embeds sessionmigrate: a memstore holding the
// sessions in process memory, a redisstore on the instance's own Redis
// client, and a Migrator between them that follows the control plane
// through an OpenFeature provider, publishes guard trips and sends
// heartbeats. Sticky virtual users log in, read, increment a counter,
// rotate their session id and log out against their instance the whole
// time, and count every broken promise: a failed request, a logout (a live
// session not found), a lost write (a counter going back) and a
// resurrection (an ended session found again).
//
// Meanwhile the demo acts as the operator, through the same control-plane
// client migratectl uses, with its stage-order rules:
//
//	local → shadow → dual → backfill → ramp 10% → ramp 50%
//	      → Redis fault: every guard rolls back on its own → heal, resume
//	      → ramp 100% → diff, complete → plain GET of every session (no lock-in)
//
// After each step it prints one line (the state every instance applied, the
// requests so far and the four counters that must stay zero) and what the
// step showed; it ends with a summary table. Run returns an error when any
// counter is not zero. Session ids are credentials and never appear in the
// output.
package demo
