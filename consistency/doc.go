// Package consistency compares the local and the distributed copy of
// sessions: online, on the reads the request path makes, and in full, over
// every session of a fleet.
//
// # Online
//
// The online [Checker] takes reads the request path already made from local
// (shadow samples them, dual offers every one), reads the distributed copy off
// the request path through a bounded queue, and classifies the pair. A
// mismatch is re-checked once after a short delay, reading both stores again,
// and is skipped whenever the session has a distributed write in flight, so
// writes racing the comparison are not reported. Only a mismatch that survives
// the re-check is confirmed, and only while the local copy is still the one
// offered: a local write since then may not have reached the distributed store
// yet, so the re-check is inconclusive.
//
// Kinds: [Missing] (local has the session, the distributed store does not:
// expected until backfill, repaired by a copy, not critical), [Stale] (the
// distributed copy has an older version), [Extra] (the distributed store
// serves a session local does not have: a resurrection risk), [Data] (same
// version, different bytes), [Expiry] (same version, different expiry). All
// but Missing are critical: the guard counts them toward a rollback.
//
// # Full diff
//
// A full diff covers a fleet: each instance runs [LocalPass] over its local
// store (its Scan) against the distributed store, read in pipelined batches
// (store.BatchGetter: redisstore.GetMany) that also report tombstones. It
// judges each pair with [Compare], version-aware: a distributed copy newer
// than local, or a tombstone at or above local's version, was written or
// deleted by another instance later and is "superseded", not a mismatch.
// Every difference is re-checked after a delay, with the online Checker's
// rules (the distributed read bracketed by two local reads, local unchanged
// since the first read, no write in flight), before it is confirmed.
//
// Sessions no local store knows (Extra) cannot be found from any one
// instance. Each instance publishes the member hashes of its local sessions
// ([MemberSet]: 8-byte keyed hashes, never ids); one instance lists the
// distributed store once ([ScanExtras]: SCAN on every cluster master, no
// record read) and keeps the ids no member set holds; every instance then
// says which of those it holds now ([CandidateHashes], [Held]: a session
// written meanwhile is not an extra); [ConfirmExtras] re-reads the rest and
// confirms those still served that show they came back from a delete (a
// tombstone beside the data, or no version); a versioned session no local
// store holds is the legitimate Redis-only session of a restarted instance
// or re-pinned user and is counted as RedisOnly, not as a mismatch (see
// EvidenceOrphan). Passes take a rate limit.
//
// The fleet's result is a [Report]: counts by kind per instance, totals,
// and a few redacted samples per kind (package redact: a keyed hash
// prefix, never an id), as JSON or CSV ([Report.WriteCSV]); [DecodeReport]
// refuses any report that could carry an id in clear.
//
// # Repair
//
// A [Repairer] repairs confirmed mismatches from local, which holds every
// acknowledged write until complete: missing, stale and different copies
// are copied at their versions, extras tombstoned at their own; every write
// is a compare-and-set, so a newer write always wins. Feed it as a pass's
// OnMismatch.
//
// # Who calls whom
//
// LocalPass, ScanExtras and ConfirmExtras call DiffConfig.OnMismatch and
// Progress from their own goroutines, one call at a time; the Migrator's
// job runner (package migrate) wires them to a Repairer and to the control
// plane. The Checker calls Config's callbacks from its two goroutines.
package consistency
