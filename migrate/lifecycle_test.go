package migrate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature/memprovider"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionmigrate/sessionmigrate/store/memstore"
)

// scrapingRegisterer scrapes while New registers: it collects each
// collector as it is registered, then gathers everything registered so
// far, as a Prometheus scrape running on another goroutine may at that
// moment. A panic in a collector is recorded, not fatal.
type scrapingRegisterer struct {
	reg      *prometheus.Registry
	mu       sync.Mutex
	problems []string
}

func (r *scrapingRegisterer) Register(c prometheus.Collector) error {
	rc := recoveringCollector{Collector: c, r: r}
	ch := make(chan prometheus.Metric)
	go func() {
		defer close(ch)
		rc.Collect(ch)
	}()
	for range ch {
	}
	if err := r.reg.Register(rc); err != nil {
		return err
	}
	r.gather()
	return nil
}

// gather gathers the registry; a gauge function's panic happens here, on
// the caller's goroutine.
func (r *scrapingRegisterer) gather() {
	defer func() {
		if p := recover(); p != nil {
			r.fail("gather: panic: %v", p)
		}
	}()
	if _, err := r.reg.Gather(); err != nil {
		r.fail("gather: %v", err)
	}
}

func (r *scrapingRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// Unregister finds the collector by its descriptions, as the registry does.
func (r *scrapingRegisterer) Unregister(c prometheus.Collector) bool {
	return r.reg.Unregister(recoveringCollector{Collector: c, r: r})
}

func (r *scrapingRegisterer) fail(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

// recoveringCollector reports a panic in Collect (a nil dereference in a
// gauge function) instead of crashing the test binary: Collect runs on
// goroutines of its own.
type recoveringCollector struct {
	prometheus.Collector
	r *scrapingRegisterer
}

func (rc recoveringCollector) Collect(ch chan<- prometheus.Metric) {
	defer func() {
		if p := recover(); p != nil {
			rc.r.fail("collect %T: panic: %v", rc.Collector, p)
		}
	}()
	rc.Collector.Collect(ch)
}

// TestScrapeDuringNew: a scrape at any moment of New reads nothing New has
// not built yet (gauge functions read the router core, the ops collector
// the state in effect).
func TestScrapeDuringNew(t *testing.T) {
	for _, disableGuard := range []bool{false, true} {
		t.Run(fmt.Sprintf("guard disabled %v", disableGuard), func(t *testing.T) {
			reg := &scrapingRegisterer{reg: prometheus.NewRegistry()}
			l, d := memstore.New(), memstore.New()
			defer l.Close()
			defer d.Close()
			m, err := New(l, d, Options{Registerer: reg, DisableGuard: disableGuard})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if len(reg.problems) > 0 {
				t.Fatalf("scraping during New:\n%s", strings.Join(reg.problems, "\n"))
			}
			if names := gatherNames(t, reg.reg); !slices.Contains(names, "sessionmigrate_unsynced_sessions") {
				t.Fatalf("registered: %v, want sessionmigrate_unsynced_sessions among them", names)
			}
		})
	}
}

// gatherNames returns the metric family names reg exposes.
func gatherNames(t *testing.T, reg prometheus.Gatherer) []string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	return names
}

// TestCloseUnregistersMetrics: Close removes every collector New
// registered, so a Migrator can be created again on the same Registerer (a
// restart inside one process, tests sharing a registry).
func TestCloseUnregistersMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	l, d := memstore.New(), memstore.New()
	defer l.Close()
	defer d.Close()
	for i := range 3 {
		m, err := New(l, d, Options{Registerer: reg})
		if err != nil {
			t.Fatalf("New #%d on the same registry: %v", i+1, err)
		}
		names := gatherNames(t, reg)
		for _, want := range []string{"sessionmigrate_stage", "sessionmigrate_unsynced_sessions", "sessionmigrate_applied_epoch", "sessionmigrate_guard_score"} {
			if !slices.Contains(names, want) {
				t.Errorf("New #%d: %s not registered (got %v)", i+1, want, names)
			}
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if names := gatherNames(t, reg); len(names) > 0 {
			t.Fatalf("after Close #%d: still registered: %v", i+1, names)
		}
	}
}

// failingRegisterer refuses the registration number failAt (0-based).
type failingRegisterer struct {
	prometheus.Registerer
	n, failAt int
}

func (r *failingRegisterer) Register(c prometheus.Collector) error {
	defer func() { r.n++ }()
	if r.n == r.failAt {
		return errors.New("refused")
	}
	return r.Registerer.Register(c)
}

// TestFailedNewLeavesRegistererClean: a New that cannot register every
// collector unregisters the ones it did, whichever one fails.
func TestFailedNewLeavesRegistererClean(t *testing.T) {
	l, d := memstore.New(), memstore.New()
	defer l.Close()
	defer d.Close()
	for failAt := 0; ; failAt++ {
		reg := prometheus.NewRegistry()
		fr := &failingRegisterer{Registerer: reg, failAt: failAt}
		m, err := New(l, d, Options{Registerer: fr})
		if err == nil {
			m.Close()
			if failAt < 10 {
				t.Fatalf("New succeeded after %d registrations, want more", failAt)
			}
			return // every registration was refused once
		}
		if !strings.Contains(err.Error(), "refused") {
			t.Fatalf("registration %d refused: got %v, want the registerer's error", failAt, err)
		}
		if names := gatherNames(t, reg); len(names) > 0 {
			t.Fatalf("registration %d refused: still registered after New failed: %v", failAt, names)
		}
	}
}

// lockProbeWait is how long lockProbe waits for the Migrator's lock
// before it concludes that the logging goroutine holds it.
const lockProbeWait = 3 * time.Second

// lockProbe is a slog.Handler that reports every record handled while
// the Migrator's lock is held: a handler that called back into the
// Migrator (or blocked on a lock of its own) would then deadlock it.
type lockProbe struct {
	m       atomic.Pointer[Migrator]
	mu      sync.Mutex
	handled []string
	locked  []string
}

func (p *lockProbe) Enabled(context.Context, slog.Level) bool { return true }
func (p *lockProbe) WithAttrs([]slog.Attr) slog.Handler       { return p }
func (p *lockProbe) WithGroup(string) slog.Handler            { return p }

func (p *lockProbe) Handle(_ context.Context, r slog.Record) error {
	m := p.m.Load()
	if m == nil {
		return nil
	}
	// A sync.Mutex has no owner, so a failed TryLock alone cannot tell
	// this goroutine's lock from another's (the flag watcher or the guard
	// changing state at the same moment). The Migrator never holds its
	// lock across I/O or callbacks, so another goroutine releases it
	// quickly; only a lock held by the goroutine logging right now stays
	// held for as long as this handler waits.
	held := true
	for deadline := time.Now().Add(lockProbeWait); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if m.mu.TryLock() {
			m.mu.Unlock()
			held = false
			break
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.handled = append(p.handled, r.Message)
	if held {
		p.locked = append(p.locked, r.Message)
	}
	return nil
}

func (p *lockProbe) seen(substr string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.ContainsFunc(p.handled, func(s string) bool { return strings.Contains(s, substr) })
}

// TestNoLoggingUnderLock: the injected logger runs with no Migrator lock
// held, for every state change: a guard trip at local and elsewhere,
// SetStage, Resume, a flag change, a refused transition, a bad flag value
// and a trip released by the control plane.
func TestNoLoggingUnderLock(t *testing.T) {
	probe := &lockProbe{}
	flags := func(stage string, percent float64, epoch int64, tripped bool) map[string]memprovider.InMemoryFlag {
		fs := flagSet(stage, percent)
		fs[FlagEpoch] = memprovider.InMemoryFlag{Key: FlagEpoch, State: memprovider.Enabled, DefaultVariant: "v", Variants: map[string]any{"v": epoch}}
		fs[FlagTripped] = memprovider.InMemoryFlag{Key: FlagTripped, State: memprovider.Enabled, DefaultVariant: "v", Variants: map[string]any{"v": tripped}}
		return fs
	}
	p, client := newFlags(t, "local", 0)
	p.UpdateFlags(flags("local", 0, 1, false))
	f := newFixture(t, Options{Flags: client, PollInterval: time.Hour, Logger: slog.New(probe)})
	probe.m.Store(f.m)

	waitFor(t, "epoch 1", func() bool { return f.m.State().Epoch == 1 })
	// A guard trip at local is reported only.
	f.m.Trip()
	if err := f.m.SetStage(Dual, 0); err != nil { // stage changed
		t.Fatal(err)
	}
	f.m.Trip() // guard tripped; stage changed (rollback)
	waitFor(t, "trip", func() bool { return f.m.State().Tripped })
	if err := f.m.Resume(); err != nil { // stage changed; guard trip released
		t.Fatal(err)
	}
	p.UpdateFlags(flags("ramp", 10, 1, false)) // stage changed, from the flags
	waitFor(t, "ramp 10 from the flags", func() bool { return f.m.State().Stage == Ramp })
	p.UpdateFlags(flags("complete", 100, 1, false)) // refused: complete only from ramp 100
	waitFor(t, "refusal", func() bool { return f.m.State().FlagError != "" })
	p.UpdateFlags(flags("sideways", 10, 1, false)) // flag evaluation failed
	waitFor(t, "flag error", func() bool { return strings.Contains(f.m.State().FlagError, "sideways") })
	f.m.Trip()
	waitFor(t, "second trip", func() bool { return f.m.State().Tripped })
	p.UpdateFlags(flags("ramp", 10, 2, false)) // released by the control plane
	waitFor(t, "trip released by the flags", func() bool { return !f.m.State().Tripped })

	for _, want := range []string{"stage changed", "guard tripped at local", "guard tripped;", "guard trip released",
		"refused the state the flags ask for", "flag evaluation failed"} {
		if !probe.seen(want) {
			t.Errorf("no %q record handled: the test did not cover it", want)
		}
	}
	probe.mu.Lock()
	defer probe.mu.Unlock()
	if len(probe.locked) > 0 {
		t.Fatalf("logged with the Migrator's lock held: %q", probe.locked)
	}
}

// TestLockProbe: the probe reports a record logged while the logging
// goroutine holds the Migrator's lock, and not one logged while another
// goroutine holds it for a moment.
func TestLockProbe(t *testing.T) {
	probe := &lockProbe{}
	f := newFixture(t, Options{})
	probe.m.Store(f.m)
	rec := func(msg string) slog.Record { return slog.NewRecord(time.Now(), slog.LevelInfo, msg, 0) }

	f.m.mu.Lock()
	probe.Handle(context.Background(), rec("own lock"))
	f.m.mu.Unlock()

	f.m.mu.Lock()
	go func() {
		time.Sleep(20 * time.Millisecond)
		f.m.mu.Unlock()
	}()
	probe.Handle(context.Background(), rec("another goroutine's lock"))

	probe.mu.Lock()
	defer probe.mu.Unlock()
	if !slices.Equal(probe.locked, []string{"own lock"}) {
		t.Fatalf("records reported as logged under the lock: %q, want only %q", probe.locked, "own lock")
	}
}
