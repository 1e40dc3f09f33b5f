package router

import (
	"context"
	"errors"
	"fmt"

	"sync/atomic"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// Reason says why a read that routing sent to the distributed store was
// served from local. The values are fixed and usable as metric labels.
type Reason string

const (
	ReasonError   Reason = "error"   // the distributed store failed or timed out
	ReasonDirty   Reason = "dirty"   // the session has an unconfirmed distributed write
	ReasonStale   Reason = "stale"   // the distributed copy was older than local
	ReasonMissing Reason = "missing" // lazy copy: the session was not in the distributed store yet
)

// Observer receives routing events. Implementations must be cheap and must
// not block: they run on the request path. Migrator wires them to metrics.
type Observer interface {
	// Fallback counts a read served from local instead of the distributed store.
	Fallback(r Reason)
	// LazyCopy counts a session copied to the distributed store on first
	// read; err is the copy's outcome.
	LazyCopy(err error)
	// AsyncDropped counts a write that found the async queue full; the
	// session stays tracked and the repair loop applies it later.
	AsyncDropped()
	// AsyncApplied counts a distributed write by the writer (async or repair).
	AsyncApplied(err error)
	// DistWriteFailed counts a synchronous distributed write that failed in
	// a stage where the user does not see it (dual, ramp).
	DistWriteFailed()
}

// Comparer checks a local read against the distributed store off the request
// path (consistency.Checker implements it). Offer must not block: it drops
// when its queue is full.
type Comparer interface {
	Offer(id string, local store.Record, found bool)
}

// The defaults of Config's zero values; migrate.Options uses them too.
const (
	DefaultDistTimeout    = 100 * time.Millisecond
	DefaultAsyncTimeout   = time.Second
	DefaultRepairInterval = time.Second
	DefaultTombstoneTTL   = 24 * time.Hour
	DefaultMaxTTL         = 24 * time.Hour
	DefaultQueueSize      = 10000
	DefaultWorkers        = 4
	DefaultRepairBatch    = 1000
	DefaultShadowSample   = 100
)

// Config configures a Core. Zero values have the documented defaults.
type Config struct {
	// Local is the process-local store. Required; it must order writers
	// (store.Versioned) because writes carry versions.
	Local store.Versioned
	// Distributed is the shared store (Redis). Required.
	Distributed store.Versioned
	// Salt is prepended to the session id before hashing (see Bucket).
	Salt string
	// DistTimeout bounds each synchronous distributed call made on the
	// request path in dual and ramp (default 100ms). In complete the caller's
	// context alone applies.
	DistTimeout time.Duration
	// AsyncTimeout bounds each distributed call made by the writer
	// (default 1s).
	AsyncTimeout time.Duration
	// QueueSize bounds the async writer queue (default 10000 ids).
	QueueSize int
	// Workers is the number of async writer goroutines (default 4). A session
	// always goes to the same worker, so its writes are applied in order.
	Workers int
	// RepairInterval is how often tracked sessions are retried (default 1s);
	// it backs off up to 30s while repairs fail.
	RepairInterval time.Duration
	// RepairBatch bounds the sessions taken per repair round (default 1000).
	RepairBatch int
	// MaxTTL is the expiry given to a record written with a zero ExpiresAt
	// (default 24h, as scs). The Migrator resolves it once so both stores
	// keep the same absolute expiry.
	MaxTTL time.Duration
	// TombstoneTTL is how long a delete's tombstone lives when the session's
	// expiry is unknown (default 24h).
	TombstoneTTL time.Duration
	// ShadowSample compares one shadow read in ShadowSample (default 100; 1
	// compares every read). Dual compares every read.
	ShadowSample int
	// Compare receives reads to compare in shadow and dual; nil disables
	// comparisons.
	Compare Comparer
	// Observer receives routing events; nil ignores them.
	Observer Observer
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Core is the state every stage's router shares, so that a stage change loses
// nothing: the version counter, the set of sessions the distributed store may
// lack, and the writer that applies them. Create one with NewCore, build
// routers over it with Local, Shadow, Dual, Ramp and Complete, and Close it
// when done.
type Core struct {
	cfg     Config
	local   store.Versioned
	localAt store.SetterAt // local, when it takes the caller's clock reading; else nil
	dist    store.Versioned
	hash    *Hasher
	obs     Observer
	now     func() time.Time
	version atomic.Uint64
	sample  atomic.Uint64
	track   *tracker
	writer  *writer
}

// NewCore validates cfg, applies defaults and starts the writer goroutines.
func NewCore(cfg Config) (*Core, error) {
	if cfg.Local == nil || cfg.Distributed == nil {
		return nil, errors.New("router: Local and Distributed stores are required")
	}
	if err := defaults(&cfg); err != nil {
		return nil, err
	}
	c := &Core{cfg: cfg, local: cfg.Local, dist: cfg.Distributed, obs: cfg.Observer, now: cfg.Now, track: newTracker()}
	if c.obs == nil {
		c.obs = nopObserver{}
	}
	c.localAt, _ = cfg.Local.(store.SetterAt)
	c.hash = NewHasher(cfg.Salt)
	// Versions are a counter seeded with the start time in microseconds:
	// monotonic per process, and a restarted process starts above anything
	// its predecessor could have issued (that would take more than one write
	// per microsecond, sustained).
	c.version.Store(uint64(c.now().UnixMicro()))
	c.writer = newWriter(c)
	return c, nil
}

func defaults(cfg *Config) error {
	def := func(d *time.Duration, v time.Duration, name string) error {
		if *d < 0 {
			return fmt.Errorf("router: %s must not be negative, got %v", name, *d)
		}
		if *d == 0 {
			*d = v
		}
		return nil
	}
	for _, f := range []struct {
		d    *time.Duration
		v    time.Duration
		name string
	}{
		{&cfg.DistTimeout, DefaultDistTimeout, "DistTimeout"},
		{&cfg.AsyncTimeout, DefaultAsyncTimeout, "AsyncTimeout"},
		{&cfg.RepairInterval, DefaultRepairInterval, "RepairInterval"},
		{&cfg.TombstoneTTL, DefaultTombstoneTTL, "TombstoneTTL"},
		{&cfg.MaxTTL, DefaultMaxTTL, "MaxTTL"},
	} {
		if err := def(f.d, f.v, f.name); err != nil {
			return err
		}
	}
	ints := []struct {
		p    *int
		v    int
		name string
	}{
		{&cfg.QueueSize, DefaultQueueSize, "QueueSize"},
		{&cfg.Workers, DefaultWorkers, "Workers"},
		{&cfg.RepairBatch, DefaultRepairBatch, "RepairBatch"},
		{&cfg.ShadowSample, DefaultShadowSample, "ShadowSample"},
	}
	for _, f := range ints {
		if *f.p < 0 {
			return fmt.Errorf("router: %s must not be negative, got %d", f.name, *f.p)
		}
		if *f.p == 0 {
			*f.p = f.v
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return nil
}

// Bucket returns Bucket(salt, id) for the Core's salt: the routing bucket
// ramp compares with its cut.
func (c *Core) Bucket(id string) uint32 { return c.hash.Bucket(id) }

// NextVersion returns a new write version, larger than every version this
// Core returned before.
func (c *Core) NextVersion() uint64 { return c.version.Add(1) }

// Unsynced returns the number of sessions the distributed store may lack
// (dirty or with an async write pending).
func (c *Core) Unsynced() int { return c.track.Len() }

// QueueDepth returns the number of ids waiting in the writer queues.
func (c *Core) QueueDepth() int { return c.writer.depth() }

// IsUnsynced reports whether id has an unconfirmed distributed write. Reads
// of such a session must be served from local.
func (c *Core) IsUnsynced(id string) bool { return c.track.Has(id) }

// MarkUnsynced records that the distributed copy of id may be older than
// local (for example a confirmed inconsistency) and schedules a repair.
func (c *Core) MarkUnsynced(id string) {
	c.markSet(id, store.Record{}, true)
}

// MarkDeleted records that the distributed store holds a copy of id that
// must go (local does not have the session) and schedules a DeleteVersion at
// version, leaving a tombstone until until (zero: TombstoneTTL from now). A
// write newer than version is never affected.
func (c *Core) MarkDeleted(id string, version uint64, until time.Time) {
	c.markDelete(id, version, c.liveUntil(until), true)
}

// DistributedOK tells the Core that the distributed store just took a write
// (or an operator resumed after a rollback): if repairs are backing off after
// failures, the next round runs now instead of after up to 30s. It costs one
// atomic load when repairs are not backing off.
func (c *Core) DistributedOK() {
	if c.writer.backingOff.Load() {
		c.writer.kick()
	}
}

// Flush waits until the writer queues are empty, tracked sessions have been
// retried once, or ctx ends. Tests and Backfill use it.
func (c *Core) Flush(ctx context.Context) error { return c.writer.flush(ctx) }

// Close stops the writer after draining its queues (bounded by ctx) and
// returns the number of tracked sessions left unsynced.
func (c *Core) Close(ctx context.Context) (unsynced int, err error) {
	err = c.writer.close(ctx)
	return c.track.Len(), err
}

// markSet tracks a set of id whose distributed write is not confirmed.
func (c *Core) markSet(id string, rec store.Record, queue bool) {
	if c.track.Mark(id, opSet, rec.Version, rec.ExpiresAt, queue) {
		c.writer.offer(id)
	}
}

func (c *Core) markDelete(id string, version uint64, until time.Time, queue bool) {
	if c.track.Mark(id, opDelete, version, until, queue) {
		c.writer.offer(id)
	}
}

// stamp assigns a version to a write and resolves a zero expiry to an
// absolute one, so that every copy of the record expires at the same instant.
// It returns the clock reading it judged the write by and whether rec has
// expired then (the write is a delete). Callers hand now to setLocal, so a
// write reads the clock once (on some virtual machines a read costs a sixth
// of a local Set) and the router and the local store agree on expiry.
func (c *Core) stamp(rec *store.Record) (now time.Time, expired bool) {
	rec.Version = c.NextVersion()
	now = c.now()
	if rec.ExpiresAt.IsZero() {
		rec.ExpiresAt = now.Add(c.cfg.MaxTTL) // may still expire: MaxTTL < 1ms
	}
	return now, rec.Expired(now)
}

// setLocal writes rec to the local store as of now (the reading stamp
// returned), through store.SetterAt when the local store has it.
func (c *Core) setLocal(ctx context.Context, id string, rec store.Record, now time.Time) error {
	if c.localAt != nil {
		return c.localAt.SetAt(ctx, id, rec, now)
	}
	return c.local.Set(ctx, id, rec)
}

// liveUntil returns until for a tombstone, or now+TombstoneTTL when until is
// zero or already past by the stores' millisecond rule (Record.Expired): a
// tombstone they would drop at once protects nothing.
func (c *Core) liveUntil(until time.Time) time.Time {
	if now := c.now(); until.IsZero() || (store.Record{ExpiresAt: until}).Expired(now) {
		return now.Add(c.cfg.TombstoneTTL)
	}
	return until
}

// tombstoneUntil is when a delete's tombstone may go: the session's own
// expiry when local knows it, else now + TombstoneTTL. Tombstones must outlive
// every older write that could still arrive, and no copy outlives the
// session's expiry.
func (c *Core) tombstoneUntil(ctx context.Context, id string) time.Time {
	if rec, ok, err := c.local.Get(ctx, id); err == nil && ok && !rec.ExpiresAt.IsZero() {
		return rec.ExpiresAt
	}
	return c.now().Add(c.cfg.TombstoneTTL)
}

// withTimeout bounds a synchronous distributed call unless ctx already ends
// sooner.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
		return ctx, func() {}
	}
	return store.WithTimeout(ctx, d)
}

type nopObserver struct{}

func (nopObserver) Fallback(Reason)    {}
func (nopObserver) LazyCopy(error)     {}
func (nopObserver) AsyncDropped()      {}
func (nopObserver) AsyncApplied(error) {}
func (nopObserver) DistWriteFailed()   {}
