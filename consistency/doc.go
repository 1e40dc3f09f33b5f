// Package consistency compares the local and the distributed copy of
// sessions.
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
package consistency
