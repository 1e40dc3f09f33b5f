// Package memstore is the process-local session store: the "local" side of a
// migration, and the store an application used before it.
//
// A [Store] keeps records in memory, split into independently locked shards
// (64 by default, chosen by xxhash of the id) so goroutines working on
// different sessions rarely wait for each other. It implements
// [store.Store], [store.Versioned], [store.Scanner] and [store.SetterAt]
// with exactly the semantics documented in package store: absolute expiries
// kept to the millisecond, versioned compare-and-set, tombstones that keep a
// deleted session deleted until their until, and scans that see only live
// sessions.
//
// # Ownership of bytes
//
// Set copies rec.Data and Get and Scan return copies, so neither the writer
// nor a reader (the Migrator may modify slices it gets back) can change what
// is stored. The copy on Get is made after the shard lock is released, which
// is safe because stored bytes are never modified in place.
//
// # Expiry and memory
//
// Expiry is enforced on every read against the clock given by [WithClock].
// Expired records and tombstones stay in memory until the background sweeper
// ([WithSweepInterval], every minute by default) or a call to [Store.Sweep]
// removes them, or until they are overwritten or evicted. Go maps do not
// shrink, so a shard keeps the bucket memory of the largest size it reached.
//
// # Bounded size
//
// With [WithMaxEntries] a write that would add an entry to a full shard first
// evicts one entry of that shard, picked from a sample of five: an expired
// entry if there is one, else the tombstone that expires soonest, else the
// record that expires soonest. Tombstones go first because losing one only
// matters if a stale write arrives before its until, while losing a live
// record logs its user out for certain. [Store.Evictions] counts evictions of
// unexpired entries.
//
// # Lifecycle
//
// [New] starts the sweeper goroutine; [Store.Close] stops it, waits for it,
// and drops all entries. After Close every operation returns an error
// wrapping [store.ErrClosed]. Invalid option values fall back to the
// documented defaults, because New (a fixed API) returns no error.
package memstore
