package migrate

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature/memprovider"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sessionmigrate/sessionmigrate/migrate/guard"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
)

// flagSetForce is flagSet with FlagForce.
func flagSetForce(stage string, percent float64, force bool) map[string]memprovider.InMemoryFlag {
	fs := flagSet(stage, percent)
	fs[FlagForce] = memprovider.InMemoryFlag{Key: FlagForce, State: memprovider.Enabled, DefaultVariant: "v", Variants: map[string]any{"v": force}}
	return fs
}

// TestFlagsCannotJumpToComplete: a flag provider that asks for complete from
// any state but ramp 100 is refused; the routing stays, the refusal shows
// in State().FlagError, in a metric and in one log line.
func TestFlagsCannotJumpToComplete(t *testing.T) {
	var logs lockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	p, client := newFlags(t, "local", 0)
	f := newFixture(t, Options{Flags: client, PollInterval: 5 * time.Millisecond, Logger: logger})
	ctx := context.Background()
	if err := f.m.Set(ctx, "s1", rec("only in local")); err != nil {
		t.Fatal(err)
	}

	p.UpdateFlags(flagSet("complete", 100))
	waitFor(t, "the refusal reported", func() bool { return f.m.State().FlagError != "" })
	st := f.m.State()
	if st.Stage != Local || !strings.Contains(st.FlagError, "ramp 100") {
		t.Fatalf("local -> complete: got %+v, want local kept and an error naming ramp 100", st)
	}
	// Several polls see the same refused value: counted each time, logged once.
	waitFor(t, "more polls", func() bool {
		return testutil.ToFloat64(f.m.metrics.flagRefused.WithLabelValues(refuseEnterComplete)) >= 3
	})
	if n := strings.Count(logs.String(), "refused the state"); n != 1 {
		t.Fatalf("refusal logged %d times, want once:\n%s", n, logs.String())
	}
	if rec, found, err := f.m.Get(ctx, "s1"); err != nil || !found || string(rec.Data) != "only in local" {
		t.Fatalf("the local session after the refusal: %q found=%v err=%v", rec.Data, found, err)
	}

	// The same from ramp 50: refused; from ramp 100: applied.
	p.UpdateFlags(flagSet("ramp", 50))
	waitFor(t, "ramp 50", func() bool { st := f.m.State(); return st.Stage == Ramp && st.FlagError == "" })
	p.UpdateFlags(flagSet("complete", 100))
	waitFor(t, "the refusal from ramp 50", func() bool { return f.m.State().FlagError != "" })
	if st := f.m.State(); st.Stage != Ramp || st.Percent != 50 {
		t.Fatalf("ramp 50 -> complete: got %s %v, want ramp 50 kept", st.Stage, st.Percent)
	}
	p.UpdateFlags(flagSet("ramp", 100))
	waitFor(t, "ramp 100", func() bool { st := f.m.State(); return st.Percent == 100 && st.FlagError == "" })
	p.UpdateFlags(flagSet("complete", 100))
	waitFor(t, "complete", func() bool { return f.m.State().Stage == Complete })
}

// TestLeavingCompleteNeedsForce: complete -> dual without FlagForce is
// refused, and a session created at complete is still read; with the flag
// true the Migrator leaves complete.
func TestLeavingCompleteNeedsForce(t *testing.T) {
	p, client := newFlags(t, "ramp", 100)
	f := newFixture(t, Options{Flags: client, PollInterval: 5 * time.Millisecond})
	p.UpdateFlags(flagSet("complete", 100))
	waitFor(t, "complete", func() bool { return f.m.State().Stage == Complete })
	ctx := context.Background()
	if err := f.m.Set(ctx, "new", rec("created at complete")); err != nil {
		t.Fatal(err)
	}

	for _, fs := range []map[string]memprovider.InMemoryFlag{flagSet("dual", 0), flagSetForce("dual", 0, false)} {
		p.UpdateFlags(fs)
		waitFor(t, "the refusal", func() bool { return f.m.State().FlagError != "" })
		if st := f.m.State(); st.Stage != Complete || !strings.Contains(st.FlagError, FlagForce) {
			t.Fatalf("complete -> dual without force: got %+v, want complete kept and an error naming %s", st, FlagForce)
		}
		if rec, found, err := f.m.Get(ctx, "new"); err != nil || !found || string(rec.Data) != "created at complete" {
			t.Fatalf("a session created at complete: %q found=%v err=%v", rec.Data, found, err)
		}
	}
	if got := testutil.ToFloat64(f.m.metrics.flagRefused.WithLabelValues(refuseLeaveComplete)); got == 0 {
		t.Fatal("flag_refused_total{reason=leave_complete} = 0")
	}

	p.UpdateFlags(flagSetForce("dual", 0, true))
	waitFor(t, "dual with force", func() bool { return f.m.State().Stage == Dual })
	if st := f.m.State(); st.FlagError != "" {
		t.Fatalf("FlagError after an allowed move: %q", st.FlagError)
	}
	// Local forgot its pre-complete copies; the session is read from Redis.
	if rec, found, err := f.m.Get(ctx, "new"); err != nil || !found || string(rec.Data) != "created at complete" {
		t.Fatalf("the session after leaving complete: %q found=%v err=%v", rec.Data, found, err)
	}
}

// TestFirstEvaluationAdopted: a new Migrator (a restarted instance) joins a
// fleet at complete: its first evaluation is taken as it is.
func TestFirstEvaluationAdopted(t *testing.T) {
	_, client := newFlags(t, "complete", 100)
	f := newFixture(t, Options{Flags: client, PollInterval: time.Hour})
	if st := f.m.State(); st.Stage != Complete || st.FlagError != "" {
		t.Fatalf("first evaluation at complete: got %+v, want complete", st)
	}
}

func TestSetStageRules(t *testing.T) {
	f := newFixture(t, Options{})
	if err := f.m.SetStage(Complete, 100); !errors.Is(err, ErrRefused) {
		t.Fatalf("SetStage(complete) from local: got %v, want ErrRefused", err)
	}
	for _, sp := range []struct {
		st Stage
		p  float64
	}{{Shadow, 0}, {Ramp, 100}, {Complete, 100}} {
		if err := f.m.SetStage(sp.st, sp.p); err != nil {
			t.Fatalf("SetStage(%s, %v): %v", sp.st, sp.p, err)
		}
	}
	if err := f.m.SetStage(Ramp, 100); !errors.Is(err, ErrRefused) {
		t.Fatalf("SetStage(ramp 100) from complete: got %v, want ErrRefused", err)
	}
	if st := f.m.State(); st.Stage != Complete {
		t.Fatalf("after a refused SetStage: %s, want complete", st.Stage)
	}
	if err := f.m.ForceStage(Ramp, 100); err != nil {
		t.Fatalf("ForceStage(ramp 100) from complete: %v", err)
	}
	if err := f.m.ForceStage(Complete, 100); err != nil {
		t.Fatalf("ForceStage(complete) from ramp 100: %v", err)
	}
	if err := f.m.ForceStage(Local, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.m.ForceStage(Complete, 100); !errors.Is(err, ErrRefused) {
		t.Fatalf("ForceStage(complete) from local: got %v, want ErrRefused (force only leaves complete)", err)
	}
}

// TestTripNeverMovesForward: a trip at local changes no routing, latches
// nothing and publishes nothing; it is reported. Elsewhere it rolls back,
// and complete is refused while it is latched.
func TestTripNeverMovesForward(t *testing.T) {
	pub := &recordingPublisher{}
	f := newFixture(t, Options{Publisher: pub})
	f.m.Guard().Trip(time.Now())
	st := f.m.State()
	if st.Stage != Local || st.Tripped {
		t.Fatalf("trip at local: got %+v, want local, not latched", st)
	}
	if got := testutil.ToFloat64(f.m.metrics.guardReports.WithLabelValues(string(guard.ReasonManual))); got != 1 {
		t.Fatalf("guard_local_trips_total = %v, want 1", got)
	}
	if got := testutil.ToFloat64(f.m.metrics.rollbacks.WithLabelValues(string(guard.ReasonManual))); got != 0 {
		t.Fatalf("rollbacks_total = %v at local, want 0", got)
	}
	if f.m.Guard().Tripped() {
		t.Fatal("the guard stays latched at local: it would not trip again at shadow")
	}
	if err := f.m.SetStage(Ramp, 100); err != nil {
		t.Fatal(err)
	}
	f.m.Guard().Trip(time.Now())
	if st := f.m.State(); st.Stage != Shadow || !st.Tripped {
		t.Fatalf("trip at ramp 100: got %+v, want shadow, latched", st)
	}
	if err := f.m.SetStage(Complete, 100); !errors.Is(err, ErrRefused) {
		t.Fatalf("complete while tripped: got %v, want ErrRefused", err)
	}
	if st := f.m.State(); st.Stage != Shadow || st.DesiredStage != Ramp {
		t.Fatalf("after the refusal: %+v", st)
	}
	waitFor(t, "the rollback published", func() bool { return pub.count() == 1 })
	if rb := pub.last(); rb.FromStage != Ramp || rb.FromPercent != 100 {
		t.Fatalf("published %+v, want from ramp 100", rb)
	}
}

// TestClosedMigrator: every operation after Close returns ErrClosed, and
// nothing changes routing again.
func TestClosedMigrator(t *testing.T) {
	f := newFixture(t, Options{Stage: Shadow})
	ctx := context.Background()
	if err := f.m.Set(ctx, "s", rec("v")); err != nil {
		t.Fatal(err)
	}
	if err := f.m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.m.Get(ctx, "s"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
	if err := f.m.Set(ctx, "s", rec("w")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Set after Close: %v", err)
	}
	if err := f.m.Delete(ctx, "s"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Delete after Close: %v", err)
	}
	if err := f.m.SetStage(Dual, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("SetStage after Close: %v", err)
	}
	if err := f.m.Resume(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Resume after Close: %v", err)
	}
	if err := f.m.Flush(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Flush after Close: %v", err)
	}
	if _, err := f.m.Backfill(ctx, BackfillOptions{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Backfill after Close: %v", err)
	}
	if err := f.m.Scan(ctx, func(string, store.Record) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Scan after Close: %v", err)
	}
	// The write before Close reached Redis (shadow: async, drained by Close).
	if r, found, err := f.dist.Get(ctx, "s"); err != nil || !found || string(r.Data) != "v" {
		t.Fatalf("Redis after Close: %q found=%v err=%v", r.Data, found, err)
	}
}

// recordingPublisher records published rollbacks.
type recordingPublisher struct {
	mu  sync.Mutex
	rbs []Rollback
}

func (p *recordingPublisher) PublishRollback(_ context.Context, rb Rollback) (uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rbs = append(p.rbs, rb)
	return uint64(len(p.rbs)) + 100, nil
}

func (p *recordingPublisher) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.rbs)
}

func (p *recordingPublisher) last() Rollback {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rbs[len(p.rbs)-1]
}

// TestCompleteRefusedWhileOverflowed: writes the unsynced set could not
// track are known to the reconciliation pass only; complete, which stops
// reading local, waits for it.
func TestCompleteRefusedWhileOverflowed(t *testing.T) {
	f := newFixture(t, Options{Stage: Ramp, Percent: 100, MaxUnsynced: 2, RepairInterval: time.Hour, DisableGuard: true})
	ctx := context.Background()
	if err := f.fault.SetFault(faultstore.Fault{Outage: true}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := f.m.Set(ctx, "s"+strconv.Itoa(i), rec("v")); err != nil {
			t.Fatal(err)
		}
	}
	if !f.m.core.Overflowed() {
		t.Fatal("5 failed writes with MaxUnsynced 2: not overflowed")
	}
	err := f.m.SetStage(Complete, 100)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "overflowed") {
		t.Fatalf("complete while overflowed: got %v, want ErrRefused naming the overflow", err)
	}
	f.fault.Reset()
	waitFor(t, "the reconciliation pass", func() bool {
		_ = f.m.Flush(ctx)
		return !f.m.core.Overflowed() && f.m.Unsynced() == 0
	})
	if err := f.m.SetStage(Complete, 100); err != nil {
		t.Fatalf("complete after reconciliation: %v", err)
	}
	for i := range 5 {
		if r, found, err := f.m.Get(ctx, "s"+strconv.Itoa(i)); err != nil || !found || string(r.Data) != "v" {
			t.Fatalf("s%d at complete: %q found=%v err=%v", i, r.Data, found, err)
		}
	}
}
