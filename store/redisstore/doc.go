// Package redisstore is the distributed side of a migration: a session store
// in Redis (standalone, sentinel or cluster, through go-redis v9) that
// implements [store.Store], [store.Versioned], [store.Scanner] and
// [store.BatchSetter].
//
// # Key layout: no lock-in
//
// A session's bytes are stored raw, exactly as given, at Prefix+id, with an
// absolute expiry set by SET ... PXAT. That is how the application's own
// Redis session store keeps them (the default prefix, "scs:session:", is
// that of alexedwards/scs's redisstore and goredisstore), so once the
// migration is complete the application can drop this toolkit and read the
// same keys. A past expiry never creates a key, and every key this store
// writes, sidecars included, has an expiry: nothing is kept forever.
//
// # Sidecars: versions and tombstones
//
// Ordering metadata never goes into the value. It lives in a sidecar key in
// the same cluster slot as the data key, so one Lua script can read and
// write both atomically on every topology:
//
//	data key                  sidecar key
//	scs:session:abc           {scs:session:abc}:v
//	scs:session:{x}y          {T}:v:scs:session:{x}y
//
// When the data key has no braces, the sidecar's hash tag is the data key
// itself. When it has some (ids are arbitrary strings), Redis would take a
// different hash tag from "{"+dataKey+"}", so the sidecar starts with a
// short brace-free tag T chosen to hash to the data key's slot, taken from a
// fixed table of one tag per slot. Both forms are unique per data key and
// start with '{', which is why [Options.Prefix] must not: sidecars and data
// keys never collide and SCAN MATCH Prefix* never returns a sidecar. An ACL
// that limits the application to its prefix must also allow the sidecars,
// for example with the key patterns "~scs:session:*" and "~{*".
//
// A sidecar holds "d<version>" beside a record written at that version, with
// the record's expiry, or "t<version>" for a tombstone, with the tombstone's
// expiry. An unversioned Set removes it. A sidecar that does not decode is
// reported as an error wrapping [store.ErrCorrupt], never guessed at.
//
// # Atomicity and round trips
//
// Versioned Set, compare-and-delete and DeleteVersion run as Lua scripts
// (EVALSHA, falling back to EVAL on NOSCRIPT), with the keys passed as
// KEYS so cluster routing works; versions are compared as decimal strings,
// exactly, because Lua numbers cannot hold every uint64. Get is one round
// trip: a read-only script returns data, sidecar and PEXPIRETIME together,
// so a record is never paired with another write's version. A MULTI/EXEC
// of GET, GET, PEXPIRETIME would also be atomic and one round trip; on
// loopback its latency was indistinguishable from the script's, but it
// costs the client twice the allocations (32 against 16 per call in
// BenchmarkGet), so the script won. A plain pipeline is not atomic. Delete
// is one DEL of both keys. SetMany sends a batch of Sets as one pipeline.
//
// # Clocks
//
// Whether an expiry has passed is decided on the client, by [Options.Now],
// when the store writes: a Set whose expiry is not after now deletes, a
// DeleteVersion whose until is not after now leaves no tombstone, a zero
// expiry becomes now+MaxTTL. Get and Scan also hide records whose expiry has
// passed by that clock. So the store agrees with the local store of the
// same process about when a session ends, and tests can move the clock.
// Redis still removes keys by its own clock; with the two clocks a few
// milliseconds apart, a key may linger (hidden) or vanish that much early.
//
// # Timeouts
//
// Each call to Redis is bounded by [Options.Timeout] unless the caller's
// context ends sooner. go-redis applies context deadlines to the socket only
// when the client was built with ContextTimeoutEnabled: true; without it a
// call to a stalled server waits for the client's ReadTimeout instead. Build
// the client with ContextTimeoutEnabled. Errors caused by a deadline wrap
// context.DeadlineExceeded.
//
// # Requirements
//
// Redis 7.0 or later (PEXPIRETIME, EVALSHA_RO and script flags). The store
// accepts any redis.UniversalClient: a *redis.Client (standalone, or
// sentinel through redis.NewFailoverClient), a *redis.ClusterClient (Scan
// walks every master) or a *redis.Ring (Scan walks every shard; every
// command is routed by the data key, so a record and its sidecar share a
// shard).
//
// Errors are wrapped with the package name and operation
// ("redisstore: get: ..."). Session ids are credentials and never appear
// in errors.
package redisstore
