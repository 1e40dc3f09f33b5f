// Package store defines the session store contract that every part of
// sessionmigrate speaks: the local (process) store, the distributed (Redis)
// store, the per-stage routers and the Migrator itself.
//
// # Records
//
// A session is an opaque byte slice ([Record.Data]) with an absolute expiry
// ([Record.ExpiresAt]) and an ordering version ([Record.Version]). Stores never
// interpret Data; they return exactly the bytes they were given. Set does not
// keep the caller's slice, and Get and Scan return slices the caller owns:
// either side may modify its bytes afterwards.
//
// # Not found
//
// Get reports a miss as found == false with a nil error. An error means the
// store could not answer; callers must not treat it as a miss. Delete of an
// id that is not stored is not an error.
//
// # Expiry
//
// ExpiresAt is absolute and preserved to the millisecond: a store returns the
// same instant it was given (truncated to milliseconds), never extends it, and
// stops returning the record once it has passed. A Set whose ExpiresAt is not
// after the store's current time stores nothing and removes what was stored
// under the id, so a past expiry can never create an immortal key. Expiry is
// judged on the truncated instant, so a record expiring later within the
// current millisecond has expired ([Record.Expired] says so too). A zero
// ExpiresAt means "the store's MaxTTL from now"; no store keeps a record
// forever. An expiry after [MaxExpiresAt] cannot be kept exactly by every
// store: writes carrying one fail with an error wrapping [ErrExpiry] and
// store nothing, rather than being acknowledged and lost.
//
// # Optional capabilities
//
// Besides [Versioned] and [Scanner], a store may implement [BatchSetter]
// (many Sets in one round trip; Backfill uses it), [SetterAt] (a Set
// judged at the caller's clock reading; the routers use it so a write reads
// the clock once and router and store agree on expiry) and [LatestWriter]
// (writes ordered by arrival, reporting the version stored; the routers use
// it for request-path writes to the shared store, so that instances with
// skewed clocks never lose a later write to an earlier one) and
// [TombstoneReader] (tells a deleted session from one never held; the
// routers ask local on a miss, and the distributed store when it lacks a
// session local holds). Callers find them by type assertion and fall
// back to the plain methods.
//
// # Versions and tombstones
//
// Stores that order concurrent writers implement [Versioned]. Version 0 means
// unversioned: a Set with Version 0 overwrites unconditionally (a tombstone
// included) and leaves the stored version at 0. Versions are compared as
// exact uint64 values. A Set with a nonzero Version is a compare-and-set:
//
//   - it is a no-op when a record with a higher Version is stored;
//   - it is a no-op when a tombstone with an equal or higher Version is stored
//     (a delete wins a tie, so a logged-out session stays logged out);
//   - otherwise it replaces the record (an equal record Version is an
//     idempotent retry and is applied).
//
// A versioned Set whose ExpiresAt has passed is a compare-and-delete under the
// same rules and leaves no tombstone. DeleteVersion removes the record unless
// a higher version is stored and leaves a tombstone at that version until the
// given instant, so a late, older Set (an async shadow write, a backfill, a
// repair, a lazy copy) cannot bring the session back. Tombstones are invisible
// to Get and Scan. A plain Delete removes record and tombstone alike.
//
// # Scanning
//
// Stores that can list their sessions implement [Scanner]. Scan visits every
// session that is live when the scan starts and is not deleted during it,
// each exactly once (a Redis SCAN may return a key twice: the store
// de-duplicates);
// sessions written during the scan may or may not be visited; expired
// sessions and tombstones are never visited.
//
// # Concurrency
//
// Every Store in this module is safe for concurrent use by multiple
// goroutines. Implementations honour ctx deadlines and cancellation and wrap
// their errors with their package name.
package store
