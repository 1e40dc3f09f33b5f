package guard

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// recorder counts callbacks.
type recorder struct {
	changes []string
	trips   []Evidence
	pauses  []Evidence
}

func (r *recorder) settings(s Settings) Settings {
	s.OnStateChange = func(from, to State) { r.changes = append(r.changes, from.String()+">"+to.String()) }
	s.OnTrip = func(ev Evidence) { r.trips = append(r.trips, ev) }
	s.OnPause = func(ev Evidence) { r.pauses = append(r.pauses, ev) }
	return s
}

func TestHardOutageTripsInline(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int // Settings.ConsecutiveFailures
		want  int // failures until the trip
		ops   []Outcome
	}{
		{"default limit, failures", 0, 8, repeat(Failure, 8)},
		{"default limit, unavailable", 0, 8, repeat(Unavailable, 8)},
		{"limit 3", 3, 3, repeat(Failure, 3)},
		{"success resets the run", 3, 3, []Outcome{Failure, Failure, Success, Failure, Failure, Failure}},
		{"canceled neither counts nor resets", 3, 3, []Outcome{Failure, Canceled, Failure, Canceled, Failure}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rec recorder
			g, clk := newTestGuard(t, rec.settings(Settings{ConsecutiveFailures: tc.limit}))
			for i, o := range tc.ops {
				if g.Tripped() {
					t.Fatalf("tripped before operation %d, want only after the last", i)
				}
				g.Record(o, time.Millisecond) // no Tick: the trip must be inline
			}
			if !g.Tripped() {
				t.Fatalf("state got %s after %v, want tripped", g.State(), tc.ops)
			}
			if len(rec.trips) != 1 {
				t.Fatalf("OnTrip calls got %d, want 1", len(rec.trips))
			}
			ev := rec.trips[0]
			if ev.Reason != ReasonConsecutiveFailures || ev.Score != float64(tc.want) || !ev.At.Equal(clk.Now()) {
				t.Errorf("evidence got %+v, want reason %s, score %d, at %v", ev, ReasonConsecutiveFailures, tc.want, clk.Now())
			}
			if got, want := rec.changes, []string{"armed>tripped"}; !slices.Equal(got, want) {
				t.Errorf("state changes got %v, want %v", got, want)
			}
			// An ongoing outage neither re-trips nor calls back again.
			for range 100 {
				g.Record(Failure, time.Millisecond)
			}
			if len(rec.trips) != 1 {
				t.Errorf("OnTrip calls after more failures got %d, want 1", len(rec.trips))
			}
		})
	}
}

func TestSevenFailuresDoNotTripInline(t *testing.T) {
	g, _ := newTestGuard(t, Settings{})
	for range 7 {
		g.Record(Failure, time.Millisecond)
	}
	if g.Tripped() {
		t.Fatal("tripped after 7 consecutive failures, want the 8th to trip")
	}
	if got := g.Scores().ConsecutiveFailures; got != 7 {
		t.Errorf("Scores().ConsecutiveFailures got %d, want 7", got)
	}
}

func TestErrorRateTrips(t *testing.T) {
	// 5% errors at 1,000 ops/s must trip on the error rate within 0.5 s.
	tr := traffic{perWindow: 100, fail: 0.05}
	worst := 0
	for seed := range uint64(50) {
		g, clk := newTestGuard(t, Settings{})
		r := rand.New(rand.NewPCG(seed, 1))
		w, ok := run(g, clk, 5, func() { tr.recordWindow(g, r) })
		if !ok {
			t.Fatalf("seed %d: not tripped after 0.5 s of 5%% errors, scores %+v", seed, g.Scores())
		}
		ev, _ := g.LastTrip()
		if ev.Reason != ReasonErrorRate {
			t.Fatalf("seed %d: reason got %s, want %s", seed, ev.Reason, ReasonErrorRate)
		}
		if ev.Score <= ev.Threshold || ev.Run.Ops == 0 || ev.Run.ErrorRate() < 0.02 {
			t.Errorf("seed %d: evidence got %+v, want score over threshold and a run with a high error rate", seed, ev)
		}
		worst = max(worst, w)
	}
	t.Logf("5%% errors at 1,000 ops/s: worst delay over 50 seeds %v", time.Duration(worst)*100*time.Millisecond)
}

func TestLatencyTrips(t *testing.T) {
	// Every operation takes 100 ms, twice the threshold: trip within 1.5 s.
	for _, tc := range []struct {
		name      string
		perWindow int
	}{
		{"1000 ops/s", 100},
		{"one closed-loop client, 10 ops/s", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, clk := newTestGuard(t, Settings{})
			w, ok := run(g, clk, 15, func() {
				for range tc.perWindow {
					g.Record(Success, slow)
				}
			})
			if !ok {
				t.Fatalf("not tripped after 1.5 s of 100 ms operations, scores %+v", g.Scores())
			}
			ev, _ := g.LastTrip()
			if ev.Reason != ReasonLatency || ev.Run.SlowRate() != 1 {
				t.Errorf("evidence got %+v, want reason %s with every operation slow", ev, ReasonLatency)
			}
			t.Logf("tripped after %v", time.Duration(w)*100*time.Millisecond)
		})
	}
}

func TestAvailabilityTrips(t *testing.T) {
	// 0.5% unavailable (availability 99.5%) stays far below the error-rate
	// limit, so only the availability signal can catch it.
	tr := traffic{perWindow: 100, fail: 0.005, down: 1}
	g, clk := newTestGuard(t, Settings{})
	r := rand.New(rand.NewPCG(7, 7))
	w, ok := run(g, clk, 600, func() { tr.recordWindow(g, r) })
	if !ok {
		t.Fatalf("not tripped after 60 s at 99.5%% availability, scores %+v", g.Scores())
	}
	if ev, _ := g.LastTrip(); ev.Reason != ReasonAvailability {
		t.Errorf("reason got %s, want %s", ev.Reason, ReasonAvailability)
	}
	t.Logf("tripped after %v", time.Duration(w)*100*time.Millisecond)
}

func TestNominalTrafficNeverTrips(t *testing.T) {
	// Healthy-but-imperfect: 0.1% errors (a tenth of them unavailable, so
	// availability is 99.99%) and 0.1% slow operations.
	tr := traffic{perWindow: 100, fail: 0.001, down: 0.1, slow: 0.001}
	windows := 1_000_000 // 10^8 operations at 1,000 ops/s: 28 hours
	if testing.Short() {
		windows = 100_000
	}
	var rec recorder
	g, _ := newTestGuard(t, rec.settings(Settings{}))
	r := rand.New(rand.NewPCG(11, 13))
	var total counts
	if w, ok := runCounts(g, windows, func() counts {
		c := tr.drawWindow(r)
		total.add(c)
		return c
	}); ok {
		ev, _ := g.LastTrip()
		t.Fatalf("tripped after %d windows: %+v", w, ev)
	}
	if total.ops != uint64(windows)*100 || total.fail == 0 || total.down == 0 || total.slow == 0 {
		t.Fatalf("simulated %+v, want %d operations with some failures, unavailable and slow", total, windows*100)
	}
	t.Logf("%d operations (%d failed, %d unavailable, %d slow): no trip, %d pauses",
		total.ops, total.fail, total.down, total.slow, len(rec.pauses))
}

func TestNominalTrafficNeverTripsThroughRecord(t *testing.T) {
	// The same load, 10^6 operations through Record itself.
	tr := traffic{perWindow: 100, fail: 0.001, down: 0.1, slow: 0.001}
	g, clk := newTestGuard(t, Settings{})
	r := rand.New(rand.NewPCG(17, 19))
	if w, ok := run(g, clk, 10_000, func() { tr.recordWindow(g, r) }); ok {
		ev, _ := g.LastTrip()
		t.Fatalf("tripped after %d windows: %+v", w, ev)
	}
}

func TestNoTrafficHolds(t *testing.T) {
	g, clk := newTestGuard(t, Settings{})
	// Six failures in six operations: a high score, still below H.
	for range 6 {
		g.Record(Failure, time.Millisecond)
	}
	g.Tick(clk.Advance(100 * time.Millisecond))
	before := g.Scores()
	if before.ErrorRate == 0 || g.Tripped() {
		t.Fatalf("after six failures: scores %+v, state %s; want a raised score, not tripped", before, g.State())
	}
	// An hour with no traffic: no trip, and no decay either.
	for range 36_000 {
		g.Tick(clk.Advance(100 * time.Millisecond))
	}
	if after := g.Scores(); after != before || g.Tripped() {
		t.Errorf("after an hour without traffic: scores %+v, state %s; want %+v, not tripped", after, g.State(), before)
	}
}

func TestMinWindowOpsCarriesCountsOver(t *testing.T) {
	g, clk := newTestGuard(t, Settings{MinWindowOps: 10})
	for i := range 9 {
		g.Record(Success, time.Millisecond)
		g.Tick(clk.Advance(100 * time.Millisecond))
		if got := g.pending.ops; got != uint64(i+1) {
			t.Fatalf("held operations after %d ticks got %d, want %d", i+1, got, i+1)
		}
	}
	start := g.pendingStart
	// The tenth operation completes a window: nine successes and one
	// failure are evaluated together.
	g.Record(Failure, time.Millisecond)
	g.Tick(clk.Advance(100 * time.Millisecond))
	if g.pending.ops != 0 {
		t.Fatalf("held operations got %d, want 0 after evaluation", g.pending.ops)
	}
	run := g.signals[0].run
	if run.Ops != 10 || run.Failures != 1 || !run.Start.Equal(start) || !run.End.Equal(clk.Now()) {
		t.Errorf("error-rate run got %+v, want 10 ops, 1 failure, from %v to %v", run, start, clk.Now())
	}
}

func TestCanceledIsExcluded(t *testing.T) {
	g, clk := newTestGuard(t, Settings{})
	for range 100_000 {
		g.Record(Canceled, time.Hour)
	}
	if c := g.drain(); c != (counts{}) {
		t.Fatalf("counted %+v for canceled operations, want nothing", c)
	}
	for range 100_000 {
		g.Record(Canceled, time.Hour)
	}
	g.Tick(clk.Advance(100 * time.Millisecond))
	if s := g.Scores(); s != (Scores{}) || g.State() != StateArmed {
		t.Errorf("after canceled operations: scores %+v, state %s; want zero, armed", s, g.State())
	}
}

func TestResetRearms(t *testing.T) {
	var rec recorder
	g, clk := newTestGuard(t, rec.settings(Settings{}))
	trip := func() {
		for range 8 {
			g.Record(Failure, time.Millisecond)
		}
	}
	trip()
	first, _ := g.LastTrip()
	g.Reset()
	if g.State() != StateArmed || g.Scores() != (Scores{}) {
		t.Fatalf("after Reset: state %s, scores %+v; want armed, zero", g.State(), g.Scores())
	}
	if ev, ok := g.LastTrip(); !ok || ev != first {
		t.Errorf("LastTrip after Reset got %+v, %v; want the first trip", ev, ok)
	}
	// Healthy traffic does not trip the re-armed guard...
	for range 10 {
		for range 100 {
			g.Record(Success, time.Millisecond)
		}
		g.Tick(clk.Advance(100 * time.Millisecond))
	}
	if g.State() != StateArmed {
		t.Fatalf("state after healthy traffic got %s, want armed", g.State())
	}
	// ...and a new outage trips it again, with a second OnTrip.
	trip()
	if !g.Tripped() || len(rec.trips) != 2 {
		t.Fatalf("second outage: state %s, OnTrip calls %d; want tripped, 2", g.State(), len(rec.trips))
	}
	want := []string{"armed>tripped", "tripped>armed", "armed>tripped"}
	if !slices.Equal(rec.changes, want) {
		t.Errorf("state changes got %v, want %v", rec.changes, want)
	}
}

func TestResetDiscardsUnevaluatedCounts(t *testing.T) {
	g, clk := newTestGuard(t, Settings{ConsecutiveFailures: 1000})
	for range 100 {
		g.Record(Failure, time.Millisecond)
	}
	g.Reset()
	g.Tick(clk.Advance(100 * time.Millisecond))
	if g.State() != StateArmed || g.Scores() != (Scores{}) {
		t.Errorf("after Reset and Tick: state %s, scores %+v; want armed, zero", g.State(), g.Scores())
	}
}

func TestTripWhileTrippedKeepsScoring(t *testing.T) {
	g, clk := newTestGuard(t, Settings{})
	if !g.Trip(clk.Now()) {
		t.Fatal("Trip got false, want true on an armed guard")
	}
	if g.Trip(clk.Now()) {
		t.Error("second Trip got true, want false")
	}
	for range 5 {
		g.Record(Failure, time.Millisecond)
	}
	g.Tick(clk.Advance(100 * time.Millisecond))
	if g.Scores().ErrorRate == 0 {
		t.Error("error-rate score got 0 while tripped, want it to keep moving")
	}
	if ev, _ := g.LastTrip(); ev.Reason != ReasonManual {
		t.Errorf("LastTrip reason got %s, want %s", ev.Reason, ReasonManual)
	}
}

func TestMultipleSignalsPickTheStrongest(t *testing.T) {
	g, clk := newTestGuard(t, Settings{ConsecutiveFailures: 1000})
	// 100 operations, all slow and 20 of them failed: both scores cross,
	// latency much further.
	for i := range 100 {
		o := Success
		if i%5 == 0 {
			o = Failure
		}
		g.Record(o, slow)
	}
	g.Tick(clk.Advance(100 * time.Millisecond))
	ev, ok := g.LastTrip()
	if !ok || ev.Reason != ReasonLatency {
		t.Fatalf("LastTrip got %+v, %v; want reason %s", ev, ok, ReasonLatency)
	}
	if ev.Window.Ops != 100 || ev.Window.Failures != 20 || ev.Window.Slow != 100 {
		t.Errorf("evidence window got %+v, want 100 ops, 20 failures, 100 slow", ev.Window)
	}
}

func TestDisabledSignal(t *testing.T) {
	g, clk := newTestGuard(t, Settings{Latency: CUSUM{Disabled: true}})
	for range 100 {
		g.Record(Success, slow)
	}
	g.Tick(clk.Advance(100 * time.Millisecond))
	if g.State() != StateArmed || g.Scores().Latency != 0 {
		t.Errorf("state %s, latency score %v; want armed, 0", g.State(), g.Scores().Latency)
	}
}

func repeat(o Outcome, n int) []Outcome {
	s := make([]Outcome, n)
	for i := range s {
		s[i] = o
	}
	return s
}
