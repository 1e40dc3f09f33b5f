package migrate

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionmigrate/sessionmigrate/consistency"
	"github.com/sessionmigrate/sessionmigrate/migrate/guard"
	"github.com/sessionmigrate/sessionmigrate/router"
)

// latencyBuckets are sub-millisecond up to a second, with an edge at the
// guard's default latency threshold (50ms).
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}

// metrics are the Migrator's Prometheus collectors. Labels come from small
// fixed sets; never a session id. See the README's metrics table.
type metrics struct {
	ops            *prometheus.CounterVec   // store, op, result
	latency        *prometheus.HistogramVec // store, op
	stage          *prometheus.GaugeVec     // stage
	percent        prometheus.Gauge
	tripped        prometheus.Gauge
	paused         prometheus.Gauge
	asyncDropped   prometheus.Counter
	asyncWrites    *prometheus.CounterVec // result
	distWriteFails prometheus.Counter
	lazyCopies     *prometheus.CounterVec // result
	fallbacks      *prometheus.CounterVec // reason
	comparisons    *prometheus.CounterVec // result
	mismatches     *prometheus.CounterVec // kind
	compareDropped prometheus.Counter
	backfill       *prometheus.CounterVec // result
	rollbacks      *prometheus.CounterVec // reason
	flagErrors     prometheus.Counter
	flagRefused    *prometheus.CounterVec // reason
	guardReports   *prometheus.CounterVec // reason
	readThrough    *prometheus.CounterVec // result
	overflow       prometheus.Counter

	// pre-bound children for the hot path (no label lookup per call)
	distOps [numOps][numResults]prometheus.Counter
	distLat [numOps]prometheus.Observer

	// collectors are every collector above plus the gauge functions, in
	// the order register registers them.
	collectors []prometheus.Collector
}

type opIndex int

const (
	opGet opIndex = iota
	opSet
	opDelete
	numOps
)

var opNames = [numOps]string{"get", "set", "delete"}

type resultIndex int

const (
	resOK resultIndex = iota
	resMiss
	resError
	resCanceled
	numResults
)

var resultNames = [numResults]string{"ok", "miss", "error", "canceled"}

// newMetrics builds the collectors without registering them: the gauge
// functions read state that New builds afterwards, so New registers them
// (register) only once a scrape can read everything.
func newMetrics(unsynced, queue, overflowed func() float64) *metrics {
	const ns = "sessionmigrate"
	m := &metrics{
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "store_operations_total",
			Help: "Distributed store operations made by the Migrator, by op and result."}, []string{"store", "op", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "store_operation_duration_seconds",
			Help: "Latency of distributed store operations made by the Migrator.", Buckets: latencyBuckets}, []string{"store", "op"}),
		stage: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "stage",
			Help: "1 for the stage in effect, 0 for the others."}, []string{"stage"}),
		percent: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "ramp_percent",
			Help: "Percentage of sessions routed to the distributed store."}),
		tripped: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "guard_tripped",
			Help: "1 while the guard's rollback is latched."}),
		paused: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "guard_paused",
			Help: "1 while the guard's pause tier asks ramps not to advance."}),
		asyncDropped: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "async_dropped_total",
			Help: "Async distributed writes refused by a full queue (the session stays unsynced and is repaired)."}),
		asyncWrites: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "async_writes_total",
			Help: "Distributed writes applied off the request path (async, repair), by result."}, []string{"result"}),
		distWriteFails: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "dist_write_failures_total",
			Help: "Synchronous distributed writes that failed in dual or ramp; the user was not affected."}),
		lazyCopies: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "lazy_copies_total",
			Help: "Sessions copied to the distributed store on first read, by result."}, []string{"result"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "fallbacks_total",
			Help: "Reads routed to the distributed store but served from local, by reason."}, []string{"reason"}),
		comparisons: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "comparisons_total",
			Help: "Online comparisons of local and distributed reads, by result (match, mismatch)."}, []string{"result"}),
		mismatches: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "mismatches_total",
			Help: "Mismatches confirmed by a re-check, by kind."}, []string{"kind"}),
		compareDropped: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "comparisons_dropped_total",
			Help: "Comparisons dropped because the comparison queue was full."}),
		backfill: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "backfill_sessions_total",
			Help: "Sessions handled by backfill, by result (copied, skipped, error)."}, []string{"result"}),
		rollbacks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "rollbacks_total",
			Help: "Automatic rollbacks by the guard, by reason."}, []string{"reason"}),
		flagErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "flag_errors_total",
			Help: "Flag evaluations rejected (bad or unreadable value); the last good state was kept."}),
		flagRefused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "flag_refused_total",
			Help: "Flag evaluations whose state the Migrator refused (enter_complete: not from ramp 100; complete_tripped: while a guard trip is latched; leave_complete: without the force flag; unsynced_overflowed: complete while untracked writes await reconciliation); the routing in effect was kept."}, []string{"reason"}),
		guardReports: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "guard_local_trips_total",
			Help: "Guard trips at local, where there is nothing to roll back: reported, routing unchanged, the guard re-armed; by reason."}, []string{"reason"}),
		readThrough: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "read_through_total",
			Help: "Local misses answered from the distributed store (a restarted instance, a re-pinned user), by result (found, miss, deleted, error)."}, []string{"result"}),
		overflow: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "unsynced_overflow_total",
			Help: "Writes left untracked because the unsynced set was full (MaxUnsynced); a reconciliation pass copies them."}),
	}
	unsyncedG := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "unsynced_sessions",
		Help: "Sessions whose distributed copy may be older than local (dirty or async pending): the repair backlog."}, unsynced)
	queueG := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "async_queue_depth",
		Help: "Sessions waiting in the async writer queues."}, queue)
	overflowedG := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "unsynced_overflowed",
		Help: "1 while writes made when the unsynced set was full await a reconciliation pass (complete must not be entered)."}, overflowed)
	m.collectors = []prometheus.Collector{m.ops, m.latency, m.stage, m.percent, m.tripped, m.paused,
		m.asyncDropped, m.asyncWrites, m.distWriteFails, m.lazyCopies, m.fallbacks, m.comparisons,
		m.mismatches, m.compareDropped, m.backfill, m.rollbacks, m.flagErrors, m.flagRefused, m.guardReports, m.readThrough, m.overflow,
		unsyncedG, queueG, overflowedG}
	for o := range numOps {
		m.distLat[o] = m.latency.WithLabelValues("distributed", opNames[o])
		for r := range numResults {
			m.distOps[o][r] = m.ops.WithLabelValues("distributed", opNames[o], resultNames[r])
		}
	}
	// Pre-create label values so dashboards and alert rules see zeros
	// rather than absent series.
	for _, st := range Stages {
		m.stage.WithLabelValues(string(st))
	}
	for _, r := range []router.Reason{router.ReasonError, router.ReasonDirty, router.ReasonStale, router.ReasonMissing} {
		m.fallbacks.WithLabelValues(string(r))
	}
	for _, k := range []consistency.Kind{consistency.Missing, consistency.Stale, consistency.Extra, consistency.Data, consistency.Expiry} {
		m.mismatches.WithLabelValues(string(k))
	}
	for _, r := range guard.Reasons() {
		m.rollbacks.WithLabelValues(string(r))
		m.guardReports.WithLabelValues(string(r))
	}
	for _, r := range refuseReasons {
		m.flagRefused.WithLabelValues(r)
	}
	for _, r := range []string{"ok", "error"} {
		m.asyncWrites.WithLabelValues(r)
		m.lazyCopies.WithLabelValues(r)
	}
	for _, r := range []router.ReadThroughResult{router.ReadThroughFound, router.ReadThroughMiss, router.ReadThroughDeleted, router.ReadThroughError} {
		m.readThrough.WithLabelValues(string(r))
	}
	m.comparisons.WithLabelValues("match")
	m.comparisons.WithLabelValues("mismatch")
	return m
}

// register registers every collector in cs on reg, or none: on an error it
// unregisters the ones it had registered, so that a failed New leaves reg
// as it found it.
func register(reg prometheus.Registerer, cs []prometheus.Collector) error {
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			unregister(reg, cs[:i])
			return err
		}
	}
	return nil
}

// unregister removes cs from reg (Close), so that a new Migrator can
// register the same metrics on it.
func unregister(reg prometheus.Registerer, cs []prometheus.Collector) {
	for _, c := range cs {
		reg.Unregister(c)
	}
}

func (m *metrics) observe(op opIndex, res resultIndex, d time.Duration) {
	m.distOps[op][res].Inc()
	if res != resCanceled {
		m.distLat[op].Observe(d.Seconds())
	}
}

func (m *metrics) setState(st State) {
	for _, s := range Stages {
		v := 0.0
		if s == st.Stage {
			v = 1
		}
		m.stage.WithLabelValues(string(s)).Set(v)
	}
	m.percent.Set(st.Percent)
	if st.Tripped {
		m.tripped.Set(1)
	} else {
		m.tripped.Set(0)
	}
}

func resultLabel(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// The router.Observer implementation.

func (m *metrics) Fallback(r router.Reason) { m.fallbacks.WithLabelValues(string(r)).Inc() }
func (m *metrics) LazyCopy(err error)       { m.lazyCopies.WithLabelValues(resultLabel(err)).Inc() }
func (m *metrics) AsyncDropped()            { m.asyncDropped.Inc() }
func (m *metrics) AsyncApplied(err error)   { m.asyncWrites.WithLabelValues(resultLabel(err)).Inc() }
func (m *metrics) DistWriteFailed()         { m.distWriteFails.Inc() }
func (m *metrics) ReadThrough(r router.ReadThroughResult) {
	m.readThrough.WithLabelValues(string(r)).Inc()
}
func (m *metrics) Overflow() { m.overflow.Inc() }
