package migrate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionmigrate/sessionmigrate/consistency"
	"github.com/sessionmigrate/sessionmigrate/migrate/control"
	"github.com/sessionmigrate/sessionmigrate/migrate/guard"
	"github.com/sessionmigrate/sessionmigrate/router"
	"github.com/sessionmigrate/sessionmigrate/store"
)

// State is what is in effect now. After a guard trip it shows the rollback
// stage, Tripped true and the reason, until an operator resumes.
type State struct {
	// Stage and Percent are the routing in effect. Percent is the ramp
	// percentage in ramp, 100 in complete and 0 otherwise.
	Stage   Stage
	Percent float64
	// Tripped is true from a guard trip until Resume; TripReason says why.
	Tripped    bool
	TripReason string
	// Desired is what the flags ask for; it differs from Stage while
	// Tripped.
	DesiredStage   Stage
	DesiredPercent float64
	// Epoch is the control plane epoch of the flags applied (0 when the
	// provider does not serve FlagEpoch).
	Epoch uint64
	// Since is when the routing in effect was applied.
	Since time.Time
	// FlagError is the last flag evaluation problem ("" when the last
	// evaluation was good): the Migrator kept the last good state.
	FlagError string
}

// active is one immutable routing decision; swapping the pointer changes
// stage atomically while requests in flight finish on the router they loaded.
type active struct {
	state  State
	router store.Store
}

// Migrator routes every Get/Set/Delete to the local and distributed stores as
// the current stage says. It is safe for concurrent use. Create it with New
// and Close it when done.
type Migrator struct {
	opts    Options
	local   store.Versioned
	dist    store.Versioned
	core    *router.Core
	checker *consistency.Checker
	guard   *guard.Guard // nil when disabled
	metrics *metrics
	cur     atomic.Pointer[active]
	trips   chan Rollback
	// lastDiff is this instance's part of the newest diff job it ran
	// (JobRunner), for heartbeats.
	lastDiff atomic.Pointer[control.InstanceDiff]
	// jobGauges is this instance's job progress, for metrics (opsmetrics.go).
	jobGauges jobGauges
	// collectors are what New registered on Options.Registerer; Close
	// unregisters them.
	collectors []prometheus.Collector

	mu        sync.Mutex // serializes state changes (never held during I/O or callbacks)
	desired   desired
	adopted   bool // a state was accepted: transitions are checked from it
	trip      *tripInfo
	flagError string

	refresh   chan struct{}
	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
	closed    atomic.Bool
	// lastLocalTrip is when a guard trip at local was last logged (the
	// guard re-arms at once there; the log is rate-limited).
	lastLocalTrip atomic.Int64
}

// desired is what the flags (or SetStage) ask for.
type desired struct {
	stage   Stage
	percent float64
	epoch   uint64
	tripped bool
	warning string // a problem that did not stop the evaluation (stale provider)
}

type tripInfo struct {
	reason string
	epoch  uint64 // control plane epoch the trip must be resumed past
	at     time.Time
}

var _ store.Store = (*Migrator)(nil)

// New returns a Migrator over local and distributed. Both must implement
// store.Versioned (memstore and redisstore do): writes carry versions so
// that no older write replaces a newer one in either store. It starts the
// async writer, the comparison workers and, with Options.Flags, the flag
// follower; Close stops them all.
func New(local, distributed store.Store, opts Options) (*Migrator, error) {
	if local == nil || distributed == nil {
		return nil, errors.New("migrate: local and distributed stores are required")
	}
	lv, ok := local.(store.Versioned)
	if !ok {
		return nil, fmt.Errorf("%w: local store %T", ErrNotVersioned, local)
	}
	dv, ok := distributed.(store.Versioned)
	if !ok {
		return nil, fmt.Errorf("%w: distributed store %T", ErrNotVersioned, distributed)
	}
	if _, ok := distributed.(store.LatestWriter); !ok {
		return nil, fmt.Errorf("migrate: distributed store %T does not implement store.LatestWriter (redisstore and memstore do): request-path writes could not be ordered across instances", distributed)
	}
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	m := &Migrator{
		opts:    opts,
		local:   lv,
		dist:    dv,
		refresh: make(chan struct{}, 1),
		stop:    make(chan struct{}),
		trips:   make(chan Rollback, 1),
	}
	// The gauge functions read m.core, assigned below: the collectors are
	// registered only once everything they read exists (a scrape may run
	// at any moment from another goroutine).
	met := newMetrics(
		func() float64 { return float64(m.core.Unsynced()) },
		func() float64 { return float64(m.core.QueueDepth()) },
		func() float64 {
			if m.core.Overflowed() {
				return 1
			}
			return 0
		})
	m.metrics = met
	m.collectors = append([]prometheus.Collector{newOpsCollector(m)}, met.collectors...)
	if !opts.DisableGuard {
		gs := opts.Guard
		gs.Now = opts.Now
		gs.OnTrip = m.onTrip
		gs.OnPause = m.onPause
		gs.OnStateChange = m.onGuardState
		var err error
		if m.guard, err = guard.New(gs); err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		m.collectors = append(m.collectors, scoreCollector{g: m.guard, desc: prometheus.NewDesc(
			"sessionmigrate_guard_score", "Current score of each guard signal (CUSUM score; run length; inconsistencies in window).",
			[]string{"reason"}, nil)})
	}
	observed, err := newInstrumented(dv, m.guard, met)
	if err != nil {
		return nil, err
	}
	checker, err := consistency.New(consistency.Config{
		Local:       lv,
		Distributed: observed,
		Compare:     opts.Comparator,
		Queue:       opts.CompareQueue,
		Delay:       opts.CompareDelay,
		InFlight:    func(id string) bool { return m.core.IsUnsynced(id) },
		OnMismatch:  m.onMismatch,
		OnResult: func(kind consistency.Kind, confirmed bool) {
			if kind == consistency.Match {
				met.comparisons.WithLabelValues("match").Inc()
			} else {
				met.comparisons.WithLabelValues("mismatch").Inc()
			}
		},
		OnDrop: met.compareDropped.Inc,
	})
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	m.checker = checker
	core, err := router.NewCore(router.Config{
		Local:          lv,
		Distributed:    observed,
		Observer:       met,
		Salt:           opts.Salt,
		DistTimeout:    opts.DistTimeout,
		QueueSize:      opts.QueueSize,
		Workers:        opts.AsyncWorkers,
		RepairInterval: opts.RepairInterval,
		MaxUnsynced:    opts.MaxUnsynced,
		MaxTTL:         opts.MaxTTL,
		ShadowSample:   opts.ShadowSample,
		Compare:        checker,
		Now:            opts.Now,
	})
	if err != nil {
		checker.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	m.core = core
	m.desired = desired{stage: opts.Stage, percent: opts.Percent}
	// Without flags, Options.Stage is the state accepted; with flags, the
	// first good evaluation is adopted as it is.
	m.adopted = opts.Flags == nil
	if err := m.applyLocked(new(logLines)); err != nil {
		m.shutdown()
		return nil, err
	}
	if err := register(opts.Registerer, m.collectors); err != nil {
		m.collectors = nil // none stayed registered
		m.shutdown()
		return nil, fmt.Errorf("migrate: registering metrics: %w", err)
	}
	if m.guard != nil {
		m.guard.Start()
	}
	if opts.Publisher != nil {
		m.wg.Add(1)
		go m.publishTrips()
	}
	if opts.Flags != nil {
		m.followFlags()
	}
	return m, nil
}

// Get returns the session id from the store the current stage routes it to.
func (m *Migrator) Get(ctx context.Context, id string) (store.Record, bool, error) {
	return m.cur.Load().router.Get(ctx, id)
}

// Set stores rec under id in the stores the current stage writes, with a new
// version. A zero ExpiresAt becomes now+MaxTTL; a past one deletes.
func (m *Migrator) Set(ctx context.Context, id string, rec store.Record) error {
	return m.cur.Load().router.Set(ctx, id, rec)
}

// Delete removes id from every store, leaving tombstones so that no older
// write brings it back.
func (m *Migrator) Delete(ctx context.Context, id string) error {
	return m.cur.Load().router.Delete(ctx, id)
}

// State returns what is in effect now.
func (m *Migrator) State() State { return m.cur.Load().state }

// checkPercent validates a ramp percentage.
func checkPercent(percent float64) error {
	if _, err := router.Cut(percent); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Resume releases a guard trip: routing returns to the desired stage. The
// control plane's resume does this through the flags when the provider serves
// FlagEpoch and FlagTripped.
func (m *Migrator) Resume() error {
	if m.closed.Load() {
		return ErrClosed
	}
	var logs logLines
	m.mu.Lock()
	released := m.trip != nil
	m.trip = nil
	err := m.applyLocked(&logs)
	m.mu.Unlock()
	logs.emit(m.opts.Logger)
	if released {
		m.resumed("operator")
	}
	return err
}

// resumed re-arms the guard after a trip was released; m.mu must not be held.
func (m *Migrator) resumed(by string) {
	if m.guard != nil {
		m.guard.Reset()
	}
	m.core.DistributedOK()
	st := m.State()
	m.opts.Logger.Info("sessionmigrate: guard trip released", "by", by, "stage", string(st.Stage), "percent", st.Percent, "epoch", st.Epoch)
}

// applyLocked builds the router for the desired state (or the rollback
// stage while tripped) and swaps it in; the stage-change log line goes to
// logs, written by the caller once m.mu is released. m.mu must be held.
// After Close it changes nothing: the closed router stays.
func (m *Migrator) applyLocked(logs *logLines) error {
	if m.closed.Load() {
		return ErrClosed
	}
	d := m.desired
	st := State{
		Stage: d.stage, DesiredStage: d.stage, DesiredPercent: d.percent,
		Epoch: d.epoch, Since: m.opts.Now(), FlagError: m.flagError,
	}
	if m.trip != nil {
		st.Tripped, st.TripReason = true, m.trip.reason
		// A trip never moves routing forward: local stays local.
		// Complete no longer writes local: reading it again would lose
		// every write since. A trip there alerts but keeps routing.
		if d.stage != Complete && d.stage != Local {
			st.Stage = Shadow
		}
	}
	var r store.Store
	switch st.Stage {
	case Local:
		r = router.Local(m.core)
	case Shadow:
		r = router.Shadow(m.core)
	case Dual:
		r = router.Dual(m.core)
	case Ramp:
		st.Percent = d.percent
		var err error
		if r, err = router.Ramp(m.core, d.percent); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	case Complete:
		st.Percent = 100
		r = router.Complete(m.core)
	}
	if prev := m.cur.Load(); prev != nil {
		ps := prev.state
		unchanged := st
		unchanged.Since = ps.Since
		if unchanged == ps {
			return nil // keep the router in effect and when it began
		}
		if ps.Stage != st.Stage || ps.Percent != st.Percent {
			logs.add(slog.LevelInfo, "sessionmigrate: stage changed",
				"from", string(ps.Stage), "from_percent", ps.Percent,
				"to", string(st.Stage), "to_percent", st.Percent, "epoch", st.Epoch, "tripped", st.Tripped)
		} else {
			st.Since = ps.Since
		}
	}
	if st.Stage != Local {
		// From here on the fleet may hold sessions in Redis only (see
		// router.Core.MarkLocalPartial): a later rollback to local
		// must not answer a Redis failure with "not found".
		m.core.MarkLocalPartial()
	}
	m.cur.Store(&active{state: st, router: r})
	m.metrics.setState(st)
	return nil
}

// Unsynced returns the number of sessions whose distributed copy may be older
// than local (dirty, or with an async write pending).
func (m *Migrator) Unsynced() int { return m.core.Unsynced() }

// Flush waits until queued distributed writes are applied and unsynced
// sessions have been retried once, or ctx ends.
func (m *Migrator) Flush(ctx context.Context) error {
	if m.closed.Load() {
		return ErrClosed
	}
	return m.core.Flush(ctx)
}

// Close stops following flags, drains the async queues (bounded by
// Options.CloseTimeout), stops every goroutine and unregisters the metrics
// New registered, so that a new Migrator can register them on the same
// Registerer. It does not close the stores. Calling it again returns the
// first result.
func (m *Migrator) Close() error {
	m.closeOnce.Do(func() { m.closeErr = m.shutdown() })
	return m.closeErr
}

// ErrClosed is returned by every operation of a Migrator after Close. It
// wraps store.ErrClosed.
var ErrClosed = fmt.Errorf("migrate: closed: %w", store.ErrClosed)

// closedRouter is the router after Close.
type closedRouter struct{}

func (closedRouter) Get(context.Context, string) (store.Record, bool, error) {
	return store.Record{}, false, ErrClosed
}
func (closedRouter) Set(context.Context, string, store.Record) error { return ErrClosed }
func (closedRouter) Delete(context.Context, string) error            { return ErrClosed }

func (m *Migrator) shutdown() error {
	// Refuse new operations first; those in flight finish on the router
	// they loaded, and what they leave unsynced is drained below.
	m.mu.Lock()
	m.closed.Store(true)
	if prev := m.cur.Load(); prev != nil {
		m.cur.Store(&active{state: prev.state, router: closedRouter{}})
	}
	m.mu.Unlock()
	close(m.stop)
	m.wg.Wait()
	if m.guard != nil {
		m.guard.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.opts.CloseTimeout)
	defer cancel()
	left, err := m.core.Close(ctx)
	m.checker.Close()
	unregister(m.opts.Registerer, m.collectors)
	if err != nil {
		return fmt.Errorf("migrate: close: %d sessions left unsynced: %w", left, err)
	}
	return nil
}
