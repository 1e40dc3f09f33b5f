package migrate

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/open-feature/go-sdk/openfeature/memprovider"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// The OpenFeature SDK's event executor outlives its API instance.
		goleak.IgnoreAnyFunction("github.com/open-feature/go-sdk/openfeature.(*eventExecutor).startEventListener.func1.1"),
		goleak.IgnoreAnyFunction("github.com/open-feature/go-sdk/openfeature.(*eventExecutor).startListeningAndShutdownOld.func1"),
	)
}

type fixture struct {
	local *memstore.Store
	dist  *memstore.Store
	fault *faultstore.Store
	reg   *prometheus.Registry
	m     *Migrator
	// closeErrOK: the test checks Close's error itself.
	closeErrOK bool
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	f := &fixture{local: memstore.New(), dist: memstore.New(), reg: prometheus.NewRegistry()}
	f.fault = faultstore.New(f.dist)
	opts.Registerer = f.reg
	m, err := New(f.local, f.fault, opts)
	if err != nil {
		t.Fatal(err)
	}
	f.m = m
	t.Cleanup(func() {
		if err := m.Close(); err != nil && !f.closeErrOK {
			t.Errorf("Close: %v", err)
		}
		f.local.Close()
		f.dist.Close()
	})
	return f
}

func rec(data string) store.Record {
	return store.Record{Data: []byte(data), ExpiresAt: time.Now().Add(time.Hour)}
}

func TestNewRejectsUnversionedStores(t *testing.T) {
	ms := memstore.New()
	defer ms.Close()
	plain := struct{ store.Store }{ms}
	if _, err := New(plain, ms, Options{}); !errors.Is(err, ErrNotVersioned) {
		t.Fatalf("got %v, want ErrNotVersioned", err)
	}
	if _, err := New(ms, plain, Options{}); !errors.Is(err, ErrNotVersioned) {
		t.Fatalf("got %v, want ErrNotVersioned", err)
	}
}

func TestOptionsValidation(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"bad stage", Options{Stage: "sideways"}},
		{"percent over 100", Options{Percent: 101}},
		{"percent 3 decimals", Options{Percent: 1.234}},
		{"negative timeout", Options{DistTimeout: -time.Second}},
		{"negative queue", Options{QueueSize: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, d := memstore.New(), memstore.New()
			defer l.Close()
			defer d.Close()
			if m, err := New(l, d, tt.opts); err == nil {
				m.Close()
				t.Fatalf("New(%+v) = nil error, want one", tt.opts)
			}
		})
	}
}

func flagSet(stage string, percent float64) map[string]memprovider.InMemoryFlag {
	return map[string]memprovider.InMemoryFlag{
		FlagStage:   {Key: FlagStage, State: memprovider.Enabled, DefaultVariant: "v", Variants: map[string]any{"v": stage}},
		FlagPercent: {Key: FlagPercent, State: memprovider.Enabled, DefaultVariant: "v", Variants: map[string]any{"v": percent}},
	}
}

func newFlags(t *testing.T, stage string, percent float64) (*memprovider.InMemoryProvider, *openfeature.Client) {
	t.Helper()
	api := isolated.NewAPI()
	p := memprovider.NewInMemoryProvider(flagSet(stage, percent))
	if err := api.SetProviderAndWait(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Shutdown(context.Background()) })
	return p, api.NewClient()
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestFollowsFlags(t *testing.T) {
	p, client := newFlags(t, "shadow", 0)
	f := newFixture(t, Options{Flags: client, PollInterval: time.Hour})
	if got := f.m.State().Stage; got != Shadow {
		t.Fatalf("initial stage: got %s, want shadow", got)
	}
	p.UpdateFlags(flagSet("ramp", 12.5))
	waitFor(t, "ramp 12.5 after a change event", func() bool {
		st := f.m.State()
		return st.Stage == Ramp && st.Percent == 12.5
	})

	bad := []struct {
		name    string
		stage   string
		percent float64
	}{
		{"unknown stage", "sideways", 10},
		{"percent over 100", "ramp", 150},
		{"negative percent", "ramp", -1},
		{"three decimals", "ramp", 10.125},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			p.UpdateFlags(flagSet(b.stage, b.percent))
			waitFor(t, "flag error reported", func() bool { return f.m.State().FlagError != "" })
			if st := f.m.State(); st.Stage != Ramp || st.Percent != 12.5 {
				t.Fatalf("bad flags changed routing: got %s %v, want ramp 12.5", st.Stage, st.Percent)
			}
			p.UpdateFlags(flagSet("ramp", 12.5))
			waitFor(t, "flag error cleared", func() bool { return f.m.State().FlagError == "" })
		})
	}
	if got := testutil.ToFloat64(f.m.metrics.flagErrors); got < float64(len(bad)) {
		t.Fatalf("flag_errors_total = %v, want >= %d", got, len(bad))
	}
}

func TestPollsFlagsWithoutEvents(t *testing.T) {
	// A provider that emits no events: only polling can see the change.
	api := isolated.NewAPI()
	p := &silentProvider{InMemoryProvider: memprovider.NewInMemoryProvider(flagSet("dual", 0))}
	if err := api.SetProviderAndWait(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	defer api.Shutdown(context.Background())
	f := newFixture(t, Options{Flags: api.NewClient(), PollInterval: 10 * time.Millisecond})
	if got := f.m.State().Stage; got != Dual {
		t.Fatalf("got %s, want dual", got)
	}
	p.InMemoryProvider.UpdateFlags(flagSet("ramp", 50))
	waitFor(t, "poll picks up ramp 50", func() bool { return f.m.State().Stage == Ramp })
}

// silentProvider hides the in-memory provider's event channel.
type silentProvider struct{ *memprovider.InMemoryProvider }

func (silentProvider) EventChannel() <-chan openfeature.Event { return nil }

// TestShadowNeverWaits: with the distributed store answering after 1s, shadow
// Set/Get stay local-fast and the drop counter rises.
func TestShadowNeverWaits(t *testing.T) {
	f := newFixture(t, Options{Stage: Shadow, QueueSize: 4, AsyncWorkers: 1, ShadowSample: 1, CloseTimeout: 50 * time.Millisecond, DisableGuard: true})
	if err := f.fault.SetFault(faultstore.Fault{Latency: time.Second}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := time.Now()
	for i := range 200 {
		id := "s" + strconv.Itoa(i)
		if err := f.m.Set(ctx, id, rec("x")); err != nil {
			t.Fatal(err)
		}
		if _, found, err := f.m.Get(ctx, id); err != nil || !found {
			t.Fatalf("Get: found=%v err=%v", found, err)
		}
	}
	// 400 operations would take 400s if any waited for the distributed
	// store; allow a generous multiple of local speed on a noisy machine.
	if el := time.Since(start); el > 500*time.Millisecond {
		t.Fatalf("200 shadow Set+Get took %v; something waited for the distributed store", el)
	}
	if got := testutil.ToFloat64(f.m.metrics.asyncDropped); got == 0 {
		t.Fatalf("async_dropped_total = 0, want > 0 with a full queue")
	}
	// Close cannot drain into a store that takes 1s per write within its
	// 50ms budget: it must say so rather than hang or pretend.
	f.closeErrOK = true
	if err := f.m.Close(); err == nil || !strings.Contains(err.Error(), "unsynced") {
		t.Fatalf("Close with a stuck distributed store: got %v, want an unsynced-sessions error", err)
	}
}

func TestGuardTripRollsBackAndLatches(t *testing.T) {
	f := newFixture(t, Options{Stage: Ramp, Percent: 100, RepairInterval: time.Hour})
	ctx := context.Background()
	for i := range 20 {
		if err := f.m.Set(ctx, "s"+strconv.Itoa(i), rec("v"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.fault.SetFault(faultstore.Fault{Outage: true}); err != nil {
		t.Fatal(err)
	}
	// A hard outage trips within 8 distributed operations.
	for i := range 8 {
		rec, found, err := f.m.Get(ctx, "s"+strconv.Itoa(i))
		if err != nil || !found || string(rec.Data) != "v"+strconv.Itoa(i) {
			t.Fatalf("Get during outage: %q found=%v err=%v", rec.Data, found, err)
		}
	}
	st := f.m.State()
	if !st.Tripped || st.Stage != Shadow || st.TripReason != "consecutive_failures" {
		t.Fatalf("after 8 failures: got %+v, want tripped to shadow for consecutive_failures", st)
	}
	// Latched: flags or SetStage do not undo it, Resume does.
	if err := f.m.SetStage(Ramp, 50); err != nil {
		t.Fatal(err)
	}
	if st := f.m.State(); !st.Tripped || st.Stage != Shadow || st.DesiredStage != Ramp {
		t.Fatalf("SetStage released the latch: %+v", st)
	}
	f.fault.Reset()
	if err := f.m.Resume(); err != nil {
		t.Fatal(err)
	}
	if st := f.m.State(); st.Tripped || st.Stage != Ramp || st.Percent != 50 {
		t.Fatalf("after Resume: got %+v, want ramp 50 untripped", st)
	}
	if got := testutil.ToFloat64(f.m.metrics.rollbacks.WithLabelValues("consecutive_failures")); got != 1 {
		t.Fatalf("rollbacks_total{reason=consecutive_failures} = %v, want 1", got)
	}
}

func TestBackfill(t *testing.T) {
	f := newFixture(t, Options{Stage: Local})
	ctx := context.Background()
	const n = 3000
	for i := range n {
		if err := f.m.Set(ctx, "s"+strconv.Itoa(i), rec("v"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	// A session deleted before the backfill must not come back; one written
	// newer in Redis must not be overwritten.
	if err := f.m.SetStage(Dual, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.m.Delete(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if err := f.m.Set(ctx, "s2", rec("newer")); err != nil {
		t.Fatal(err)
	}
	var reports int
	p, err := f.m.Backfill(ctx, BackfillOptions{BatchSize: 100, ProgressEvery: 1000, Progress: func(BackfillProgress) { reports++ }})
	if err != nil {
		t.Fatal(err)
	}
	if p.Scanned != n-1 || !p.Done || p.Failed != 0 {
		t.Fatalf("progress %+v, want %d scanned, done, none failed", p, n-1)
	}
	if reports < 3 {
		t.Fatalf("got %d progress reports, want >= 3", reports)
	}
	for i := range n {
		id := "s" + strconv.Itoa(i)
		r, found, err := f.dist.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		want := "v" + strconv.Itoa(i)
		switch i {
		case 1:
			if found {
				t.Fatalf("backfill resurrected deleted session")
			}
			continue
		case 2:
			want = "newer"
		}
		lr, _, _ := f.local.Get(ctx, id)
		if !found || string(r.Data) != want || !r.ExpiresAt.Equal(lr.ExpiresAt) {
			t.Fatalf("dist %s: got %q found=%v exp=%v, want %q exp=%v", id, r.Data, found, r.ExpiresAt, want, lr.ExpiresAt)
		}
	}
}

func TestBackfillRateLimit(t *testing.T) {
	f := newFixture(t, Options{Stage: Dual})
	ctx := context.Background()
	for i := range 100 {
		if err := f.m.Set(ctx, "s"+strconv.Itoa(i), rec("v")); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if _, err := f.m.Backfill(ctx, BackfillOptions{BatchSize: 10, Rate: 1000}); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 80*time.Millisecond {
		t.Fatalf("100 sessions at 1000/s took %v, want >= ~100ms", el)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := f.m.Backfill(cctx, BackfillOptions{Rate: 1}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled backfill: got %v, want context.Canceled", err)
	}
}

// TestExtraMismatchRepaired: a session the distributed store serves but local
// does not have (a lost delete) is found by the dual comparison and removed
// from the distributed store with a tombstone, so it cannot come back.
func TestExtraMismatchRepaired(t *testing.T) {
	f := newFixture(t, Options{Stage: Dual, CompareDelay: 150 * time.Millisecond, RepairInterval: 10 * time.Millisecond})
	ctx := context.Background()
	if err := f.m.Set(ctx, "s", rec("v")); err != nil {
		t.Fatal(err)
	}
	// Redis loses the delete.
	if err := f.fault.SetFault(faultstore.Fault{Drop: true}); err != nil {
		t.Fatal(err)
	}
	if err := f.m.Delete(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	f.fault.Reset()
	if _, found, _ := f.dist.Get(ctx, "s"); !found {
		t.Fatal("setup: the distributed copy should have survived the dropped delete")
	}
	// A read in dual compares; the mismatch is confirmed and repaired.
	if _, found, err := f.m.Get(ctx, "s"); err != nil || found {
		t.Fatalf("Get of a deleted session: found=%v err=%v", found, err)
	}
	waitFor(t, "distributed copy removed", func() bool {
		_, found, err := f.dist.Get(ctx, "s")
		return err == nil && !found
	})
	if got := testutil.ToFloat64(f.m.metrics.mismatches.WithLabelValues("extra")); got != 1 {
		t.Fatalf("mismatches_total{kind=extra} = %v, want 1", got)
	}
	// The tombstone blocks an older write (say, a late backfill).
	if err := f.dist.Set(ctx, "s", store.Record{Data: []byte("old"), ExpiresAt: time.Now().Add(time.Hour), Version: 1}); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := f.dist.Get(ctx, "s"); found {
		t.Fatal("an older write brought the session back")
	}
}

// TestTimeoutsCountForTheGuard: a distributed call cut by the Migrator's own
// DistTimeout is the store failing to answer (it trips the guard), while a
// caller cancelling its request is not.
func TestTimeoutsCountForTheGuard(t *testing.T) {
	f := newFixture(t, Options{Stage: Ramp, Percent: 100, DistTimeout: 5 * time.Millisecond, RepairInterval: time.Hour, CloseTimeout: 50 * time.Millisecond})
	f.closeErrOK = true
	ctx := context.Background()
	for i := range 10 {
		if err := f.m.Set(ctx, "s"+strconv.Itoa(i), rec("v")); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.fault.SetFault(faultstore.Fault{Hang: true}, faultstore.OpGet); err != nil {
		t.Fatal(err)
	}
	// The caller's own cancellations: not counted.
	for i := range 10 {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, _, _ = f.m.Get(cctx, "s"+strconv.Itoa(i))
	}
	if f.m.State().Tripped {
		t.Fatal("caller cancellations tripped the guard")
	}
	// Our own timeouts: 8 in a row trip it, and users still get their session.
	for i := range 8 {
		if _, found, err := f.m.Get(ctx, "s"+strconv.Itoa(i)); err != nil || !found {
			t.Fatalf("Get: found=%v err=%v", found, err)
		}
	}
	if st := f.m.State(); !st.Tripped || st.TripReason != "consecutive_failures" {
		t.Fatalf("after 8 timeouts: %+v, want tripped on consecutive_failures", st)
	}
	if got := testutil.ToFloat64(f.m.metrics.ops.WithLabelValues("distributed", "get", "error")); got < 8 {
		t.Fatalf("store_operations_total{result=error} = %v, want >= 8", got)
	}
	f.fault.Reset()
}
