// Package redisstore is the distributed side of a migration: a session store
// in Redis (standalone, sentinel or cluster, through go-redis v9) that
// implements [store.Store], [store.Versioned], [store.Scanner],
// [store.BatchSetter], [store.LatestWriter] and [store.TombstoneReader].
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
// A sidecar is text, readable in redis-cli: "d<version>:<pxat>" beside a
// record written at version, where pxat is the record's expiry in Unix
// milliseconds, exactly the data key's own PXAT, and the sidecar key
// expires with it; or "t<version>" for a tombstone, with the tombstone's
// expiry on the sidecar key. An unversioned Set writes version 0. A sidecar
// that does not decode is reported as an error wrapping [store.ErrCorrupt],
// never guessed at. A sidecar describes this store's last write: if
// something that ignores sidecars (the application's own session library)
// rewrites the data key, reads report the sidecar's version and expiry
// until the sidecar expires.
//
// Releases before this one wrote "d<version>" without the expiry. Such
// sidecars are still read (the expiry comes from the data key, in a second
// round trip) and ordered against, so an upgrade in the middle of a
// migration loses nothing. Those releases, however, report a sidecar with
// an expiry as corrupt: during a rolling upgrade from one with the
// migration past the local stage, set [Options.LegacySidecars] on the new
// instances until no old one runs.
//
// # Atomicity and round trips
//
// Get is one round trip that Redis serves natively: MGET of the data key
// and its sidecar (one slot, so one command on every topology; MGET is
// atomic, so a record is never paired with another write's version). The
// sidecar gives the version and the expiry. Only a record whose sidecar
// lacks the expiry (written by the application's own session library, or
// by a release before this one) is read again with a read-only script that
// adds the data key's PEXPIRETIME. A read script for every Get cost six
// times a GET's server time; the MGET's body costs about twice a GET's (two
// key lookups) and the server's CPU per request about 1.1 times (see the
// README's benchmarks).
//
// Writes that must compare versions (versioned Set, compare-and-delete,
// DeleteVersion, SetLatest, DeleteLatest) run as Lua scripts (EVALSHA,
// falling back to EVAL on NOSCRIPT), with the keys passed as KEYS so
// cluster routing works; versions are compared as decimal strings, exactly,
// because Lua numbers cannot hold every uint64. A versioned write claims a
// missing sidecar and reads an existing one with one SET ... NX GET, so a
// session new to Redis costs the script two commands. Delete is one DEL of
// both keys. SetMany sends a batch of Sets as one pipeline, many versioned
// writes per script call where scripts may touch any key (not a cluster).
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
// Redis 7.0 or later (PEXPIRETIME, EVALSHA_RO, SET with NX and GET
// together). The store
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
