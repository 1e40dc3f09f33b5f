package router

import (
	"context"
	"errors"
	"fmt"

	"sync"
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
	// ReadThrough counts a local miss answered from the distributed store
	// (from shadow on: a restarted instance, a re-pinned user).
	ReadThrough(r ReadThroughResult)
	// Overflow counts a write the unsynced set had no room to track
	// (Config.MaxUnsynced); see Core.Overflowed.
	Overflow()
}

// ReadThroughResult is the outcome of a local miss answered from the
// distributed store. The values are fixed and usable as metric labels.
type ReadThroughResult string

const (
	// ReadThroughFound: the distributed store had the session; it was
	// served and installed locally at its version.
	ReadThroughFound ReadThroughResult = "found"
	// ReadThroughMiss: neither store has the session.
	ReadThroughMiss ReadThroughResult = "miss"
	// ReadThroughDeleted: this instance holds an unconfirmed (or newer)
	// delete of the session; the distributed copy was not served.
	ReadThroughDeleted ReadThroughResult = "deleted"
	// ReadThroughError: the distributed store failed; the read returned
	// its error rather than a "not found" that could log a user out.
	ReadThroughError ReadThroughResult = "error"
)

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
	DefaultMaxUnsynced    = 500_000
)

// Config configures a Core. Zero values have the documented defaults.
type Config struct {
	// Local is the process-local store. Required; it must order writers
	// (store.Versioned) because writes carry versions.
	Local store.Versioned
	// Distributed is the shared store (Redis). Required; it must also
	// implement store.LatestWriter (redisstore and memstore do), through
	// which request-path writes are ordered by arrival.
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
	// RepairBatch is the first batch size of a repair round (default
	// 1000). While batches succeed the round goes on at once with batches
	// twice as large (up to 16 times RepairBatch), so a backlog drains as
	// fast as the distributed store accepts; a failure halves the batch and
	// ends the round.
	RepairBatch int
	// MaxUnsynced bounds the unsynced set (default 500,000 sessions; each
	// costs about 65 bytes plus its id's bytes, ~110 bytes for a 43-byte
	// scs token, so the default bound is about 55 MB). When it is full, a write that needs
	// tracking is still applied to local; a Set is then left untracked
	// (counted by Observer.Overflow, and Core.Overflowed reports true until
	// a reconciliation pass has copied every local session), and a delete
	// is applied to the distributed store synchronously, failing the
	// caller's Delete if that fails (a delete is never acknowledged and
	// forgotten).
	MaxUnsynced int
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
// nothing: the version clock, the set of sessions the distributed store may
// lack, and the writer that applies them. Create one with NewCore, build
// routers over it with Local, Shadow, Dual, Ramp and Complete, and Close it
// when done.
type Core struct {
	cfg       Config
	local     store.Versioned
	localAt   store.SetterAt        // local, when it takes the caller's clock reading; else nil
	localTomb store.TombstoneReader // local, when it reports tombstones; else nil
	// partial is set once local may lack sessions that live in the
	// distributed store only (MarkLocalPartial, ForgetLocal): even stage
	// local must then not answer a distributed failure with "not found".
	partial  atomic.Bool
	dist     store.Versioned
	latest   store.LatestWriter    // dist
	distTomb store.TombstoneReader // dist, when it reports tombstones; else nil
	hash     *Hasher
	obs      Observer
	now      func() time.Time
	clock    hlc
	sample   atomic.Uint64
	track    *tracker
	writer   *writer

	closeOnce sync.Once
	closeErr  error
}

// NewCore validates cfg, applies defaults and starts the writer goroutines.
func NewCore(cfg Config) (*Core, error) {
	if cfg.Local == nil || cfg.Distributed == nil {
		return nil, errors.New("router: Local and Distributed stores are required")
	}
	latest, ok := cfg.Distributed.(store.LatestWriter)
	if !ok {
		return nil, fmt.Errorf("router: Distributed store %T does not implement store.LatestWriter", cfg.Distributed)
	}
	if err := defaults(&cfg); err != nil {
		return nil, err
	}
	c := &Core{cfg: cfg, local: cfg.Local, dist: cfg.Distributed, latest: latest, obs: cfg.Observer, now: cfg.Now}
	if c.obs == nil {
		c.obs = nopObserver{}
	}
	c.track = newTracker(cfg.MaxUnsynced)
	c.localAt, _ = cfg.Local.(store.SetterAt)
	c.localTomb, _ = cfg.Local.(store.TombstoneReader)
	c.distTomb, _ = cfg.Distributed.(store.TombstoneReader)
	c.hash = NewHasher(cfg.Salt)
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
		{&cfg.MaxUnsynced, DefaultMaxUnsynced, "MaxUnsynced"},
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

// MarkLocalPartial records that the local store may no longer hold every
// session of the users this instance serves: the instance routed at a
// stage past local, and from there on the fleet relies on the distributed
// store (a restarted instance starts with an empty local store, and the
// load balancer re-pins its users to the others; complete writes the
// distributed store only). Stage local then returns a distributed failure
// on a local miss as an error, as the later stages do, rather than "not
// found": the session may live in the distributed store only, and a miss
// would log its user out. It cannot be undone for the life of the Core.
func (c *Core) MarkLocalPartial() { c.partial.Store(true) }

// NextVersion returns a new write version: larger than every version this
// Core issued or read before, and at least the wall clock (see hlc).
func (c *Core) NextVersion() uint64 { return c.clock.next(c.now()) }

// observe advances the version clock past v, a version read from a store.
// The common case (v already behind the clock) is one inlined atomic load.
func (c *Core) observe(v uint64) {
	if v > c.clock.current() {
		c.clock.observe(v, c.now)
	}
}

// Overflowed reports whether a write went untracked because the unsynced
// set was full (Config.MaxUnsynced) and no reconciliation pass has since
// copied every local session to the distributed store. While it is true the
// distributed store may lack writes nobody tracks: complete must not be
// entered.
func (c *Core) Overflowed() bool { return c.track.Overflowed() }

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
	c.markSet(id, 0, true)
}

// MarkDeleted records that the distributed store holds a copy of id that
// must go (local does not have the session) and schedules a DeleteVersion at
// version, leaving a tombstone until until (zero: TombstoneTTL from now). A
// write newer than version is never affected.
func (c *Core) MarkDeleted(id string, version uint64, until time.Time) {
	if !c.markDelete(id, version, c.liveUntil(until), true) {
		// No room to track it: apply it now, off the request path (the
		// caller is the consistency checker).
		ctx, cancel := store.WithTimeout(c.writer.ctx, c.cfg.AsyncTimeout)
		err := c.dist.DeleteVersion(ctx, id, version, c.liveUntil(until))
		cancel()
		c.obs.AsyncApplied(err)
	}
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

// Close stops the writer after draining it, bounded by ctx: the queued ids,
// then repair rounds until every tracked session has reached the
// distributed store, so that a graceful restart loses no write the
// distributed store could take. It returns the number of tracked sessions
// left unsynced, and an error when some are left (their newest write is in
// this process's local store only) or ctx ended first.
// Calling it again returns the first call's result.
func (c *Core) Close(ctx context.Context) (unsynced int, err error) {
	c.closeOnce.Do(func() {
		c.closeErr = c.writer.close(ctx)
		if n := c.track.Len(); n > 0 && c.closeErr == nil {
			c.closeErr = fmt.Errorf("router: close: %d sessions left unsynced (the distributed store did not take them)", n)
		}
	})
	return c.track.Len(), c.closeErr
}

// markSet tracks a set of id at version whose distributed write is not
// confirmed. A full unsynced set leaves it untracked (see MaxUnsynced).
func (c *Core) markSet(id string, version uint64, queue bool) {
	switch c.track.Mark(id, opSet, version, time.Time{}, queue) {
	case markQueue:
		c.writer.offer(id)
	case markFull:
		c.track.NoteOverflow()
		c.obs.Overflow()
	}
}

// markDelete tracks a delete of id at version. It reports false when the
// unsynced set is full: the caller must then apply the delete itself.
func (c *Core) markDelete(id string, version uint64, until time.Time, queue bool) bool {
	switch c.track.Mark(id, opDelete, version, until, queue) {
	case markQueue:
		c.writer.offer(id)
	case markFull:
		return false
	}
	return true
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

func (nopObserver) Fallback(Reason)               {}
func (nopObserver) LazyCopy(error)                {}
func (nopObserver) AsyncDropped()                 {}
func (nopObserver) AsyncApplied(error)            {}
func (nopObserver) DistWriteFailed()              {}
func (nopObserver) ReadThrough(ReadThroughResult) {}
func (nopObserver) Overflow()                     {}
