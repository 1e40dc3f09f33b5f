package store

import (
	"context"
	"time"
)

// Record is one session as stores keep it.
type Record struct {
	// Data is the session exactly as the application's session library
	// encoded it. Stores never look inside.
	Data []byte
	// ExpiresAt is the absolute expiry. The zero value means the store's
	// MaxTTL from the time of the Set applies.
	ExpiresAt time.Time
	// Version orders writers. It is set by the Migrator; 0 means unversioned.
	Version uint64
}

// Expired reports whether r has expired at now. A zero ExpiresAt never
// reports expired (the store's MaxTTL applies). Stores keep expiry to the
// millisecond (Redis's PXAT), so ExpiresAt counts truncated to the
// millisecond: a record whose expiry falls within now's millisecond has
// expired, exactly as memstore and redisstore judge it.
func (r Record) Expired(now time.Time) bool {
	// ExpiresAt truncated to the millisecond is not after now exactly when
	// its Unix millisecond is not after now's. Seconds first: UnixMilli
	// overflows for far-future instants some callers use as "never".
	if r.ExpiresAt.IsZero() {
		return false
	}
	if es, ns := r.ExpiresAt.Unix(), now.Unix(); es != ns {
		return es < ns
	}
	return r.ExpiresAt.Nanosecond()/1e6 <= now.Nanosecond()/1e6
}

// Store is a session store.
type Store interface {
	// Get returns the live record stored under id. A miss (never stored,
	// deleted, expired, or only a tombstone) is found == false with a nil
	// error; err is non-nil only when the store could not answer.
	Get(ctx context.Context, id string) (rec Record, found bool, err error)
	// Set stores rec under id. A past ExpiresAt deletes instead. On a
	// Versioned store a nonzero rec.Version makes Set a compare-and-set.
	Set(ctx context.Context, id string, rec Record) error
	// Delete removes id, its record and any tombstone. A missing id is not an
	// error.
	Delete(ctx context.Context, id string) error
}

// Versioned is implemented by stores that order concurrent writers (memstore
// and redisstore both do). On them, Set with a nonzero Version is a
// compare-and-set: it is a no-op when a record or tombstone with a higher
// Version is stored (or a tombstone with an equal one); Get returns the stored
// Version.
type Versioned interface {
	Store
	// DeleteVersion removes id unless a higher version is stored, and leaves a
	// tombstone at version until `until`, so older Sets cannot bring the
	// session back. A zero until means the store's MaxTTL from now; an until
	// in the past removes the record (under the same rule) and leaves no
	// tombstone.
	DeleteVersion(ctx context.Context, id string, version uint64, until time.Time) error
}

// Scanner is implemented by stores that can list their live sessions. Backfill
// and the full consistency diff use it.
type Scanner interface {
	// Scan calls fn once for every live session with its id and record, in
	// no particular order, never for a tombstone or an expired record, and
	// never concurrently. rec.Data belongs to fn. If fn returns ErrStopScan,
	// Scan stops and returns nil; if fn returns another error, Scan stops and
	// returns it unwrapped; if ctx ends, Scan stops and returns an error
	// wrapping ctx.Err().
	Scan(ctx context.Context, fn func(id string, rec Record) error) error
}

// Entry is one session of a batch.
type Entry struct {
	ID     string
	Record Record
}

// SetterAt is implemented by stores that can judge a Set by the caller's
// clock reading instead of their own (memstore does). A caller that has read
// the clock for the same write (the router, to decide whether the write is a
// delete) passes its reading, so the write costs one clock read and caller
// and store agree on whether rec has expired. The caller's clock should be
// the one the store reads otherwise: reads, tombstones and sweeps still use
// the store's own.
type SetterAt interface {
	// SetAt is Set judged at now instead of the store's clock: rec expired
	// at now (Record.Expired) deletes, a stored record expired at now counts
	// as missing, and a zero ExpiresAt means MaxTTL from now. Everything
	// else is as Set.
	SetAt(ctx context.Context, id string, rec Record, now time.Time) error
}

// LatestWriter is implemented by shared stores that can order request-path
// writes by their arrival (redisstore and memstore do). Writers with skewed
// clocks or different start times issue versions that do not follow real
// time; a compare-and-set would silently ignore a later write that carries a
// lower version. LatestWriter instead stores each write above whatever is
// stored, so the write that arrives last wins, and reports the version it
// stored so the writer can order its own later writes after it. Copies
// (async writes, repairs, backfills, lazy copies) must not use it: they use
// the compare-and-set of [Versioned] and never replace a newer write.
//
// A store reached over a network must never let one command store above
// the version it was sent with. A client gives up on a command (a timeout)
// that may still reach a slow server later, after a newer write of the
// session or its delete was stored and acknowledged; stored "above whatever
// is there" it would overwrite that write or resurrect the session.
// redisstore makes each attempt a compare-and-set and, when a version at or
// above the attempt's is stored, tries again above it. The fence is the
// versions: a late command still lands above a newer write that carries a
// lower version, from a writer whose clock lags by more than the time
// between the two writes. A write that gives up after other writers kept
// storing newer versions fails with [ErrContended]. In memstore a call is
// one atomic step and cannot arrive late.
type LatestWriter interface {
	// SetLatest stores rec under id at version max(rec.Version, v+1),
	// where v is the version of the record or tombstone stored under id
	// when the write is applied (0 when none), and returns that version. rec.ExpiresAt must be in the
	// future (a past one is an error wrapping [ErrExpiry]: a delete is
	// DeleteLatest's job); a zero ExpiresAt means MaxTTL from now.
	SetLatest(ctx context.Context, id string, rec Record) (version uint64, err error)
	// DeleteLatest removes id and leaves a tombstone at version
	// max(version, v+1), where v is as for SetLatest, and returns that
	// version. The tombstone expires at until when until is nonzero;
	// otherwise at the expiry of the record it deletes (the session's own
	// expiry) or, when no live record is stored, at fallback (a zero
	// fallback: the store's MaxTTL from now). An instant already past
	// leaves no tombstone. An until or fallback after [MaxExpiresAt] is an
	// error wrapping [ErrExpiry].
	DeleteLatest(ctx context.Context, id string, version uint64, until, fallback time.Time) (stored uint64, err error)
}

// TombstoneReader is implemented by stores that can tell a session they
// deleted from one they never held (memstore and redisstore do). The
// routers ask the local store on a miss: a session this instance deleted is
// not looked up in the distributed store, so the answer needs no network
// and cannot fail. They ask the distributed store when it lacks a session
// local still holds: a tombstone there means another instance deleted it.
type TombstoneReader interface {
	// Tombstone reports the version of the unexpired tombstone stored under
	// id (found false when there is none: the id holds a live record,
	// nothing, or an expired tombstone).
	Tombstone(ctx context.Context, id string) (version uint64, found bool, err error)
}

// TombstoneScanner is implemented by stores that can list their tombstones
// (memstore does). The fleet diff asks each instance's local store which of
// the sessions Redis holds it deleted: a copy Redis still serves of a
// session some instance deleted came back (a delete lost to a failover, for
// example).
type TombstoneScanner interface {
	// ScanTombstones calls fn once for every unexpired tombstone with its
	// id and version, in no particular order, never concurrently. Errors
	// and ErrStopScan behave as for [Scanner].
	ScanTombstones(ctx context.Context, fn func(id string, version uint64) error) error
}

// BatchSetter is implemented by stores that can apply many Sets in one round
// trip (redisstore pipelines them). Backfill uses it when present.
type BatchSetter interface {
	// SetMany applies Set(ctx, e.ID, e.Record) for every entry, with the
	// same semantics as Set each (versioned compare-and-set included). It
	// returns applied[i] == true when entry i was written (an equal stored
	// version is rewritten, as by Set: an idempotent retry), false when it
	// was ignored (a newer version, or a tombstone at an equal or newer
	// version, was stored) or failed; err joins the failures. Entries may be applied in any order.
	SetMany(ctx context.Context, entries []Entry) (applied []bool, err error)
}
