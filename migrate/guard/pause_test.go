package guard

import (
	"slices"
	"testing"
	"time"
)

// window records ok successes and bad failures, then ticks.
func window(g *Guard, clk *fakeClock, ok, bad int) {
	for range bad {
		g.Record(Failure, time.Millisecond)
	}
	for range ok {
		g.Record(Success, time.Millisecond)
	}
	g.Tick(clk.Advance(100 * time.Millisecond))
}

func TestPauseTier(t *testing.T) {
	var rec recorder
	g, clk := newTestGuard(t, rec.settings(Settings{}))
	// Four failures: score 4·ln 2 = 2.77, over Pause 2.5, under H 5.
	window(g, clk, 0, 4)
	if !g.Paused() || g.Tripped() {
		t.Fatalf("state got %s, want paused", g.State())
	}
	if len(rec.pauses) != 1 || rec.pauses[0].Reason != ReasonErrorRate || rec.pauses[0].Threshold != 2.5 {
		t.Fatalf("OnPause calls got %+v, want one for %s at threshold 2.5", rec.pauses, ReasonErrorRate)
	}
	// Each 100 clean operations take 0.5 off the score. Below Pause is not
	// enough to re-arm: the score must fall to Pause/2.
	for i, want := range []State{StatePaused, StatePaused, StatePaused, StateArmed} {
		window(g, clk, 100, 0)
		if g.State() != want {
			t.Fatalf("after %d clean windows (score %.2f): state got %s, want %s", i+1, g.Scores().ErrorRate, g.State(), want)
		}
	}
	// Pause again, then trip from paused.
	window(g, clk, 0, 4)
	window(g, clk, 0, 4)
	want := []string{"armed>paused", "paused>armed", "armed>paused", "paused>tripped"}
	if !slices.Equal(rec.changes, want) || len(rec.trips) != 1 {
		t.Errorf("state changes got %v and %d trips, want %v and 1", rec.changes, len(rec.trips), want)
	}
}

func TestPauseDisabled(t *testing.T) {
	g, clk := newTestGuard(t, Settings{ErrorRate: CUSUM{H: 5, Pause: 5}})
	window(g, clk, 0, 7)
	if g.State() != StateArmed {
		t.Errorf("state got %s with score %.2f, want armed (Pause = H disables the tier)", g.State(), g.Scores().ErrorRate)
	}
}

func TestInconsistencies(t *testing.T) {
	type report struct {
		after time.Duration // since the start
		want  State
	}
	for _, tc := range []struct {
		name    string
		s       Settings
		reports []report
	}{
		{"3 within a minute trip", Settings{}, []report{{0, StatePaused}, {30 * time.Second, StatePaused}, {59 * time.Second, StateTripped}}},
		{"3 within exactly a minute trip", Settings{}, []report{{0, StatePaused}, {time.Second, StatePaused}, {time.Minute, StateTripped}}},
		{"3 spread over more than a minute", Settings{}, []report{{0, StatePaused}, {31 * time.Second, StatePaused}, {62 * time.Second, StatePaused}}},
		{"limit 1 trips on any", Settings{InconsistencyLimit: 1}, []report{{0, StateTripped}}},
		{"pause disabled", Settings{InconsistencyPause: 3}, []report{{0, StateArmed}, {time.Second, StateArmed}, {2 * time.Second, StateTripped}}},
		{"custom window", Settings{InconsistencyWindow: time.Second}, []report{{0, StatePaused}, {time.Second, StatePaused}, {1500 * time.Millisecond, StatePaused}, {1900 * time.Millisecond, StateTripped}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rec recorder
			g, clk := newTestGuard(t, rec.settings(tc.s))
			start := clk.Now()
			for i, r := range tc.reports {
				g.ReportInconsistency(start.Add(r.after))
				if g.State() != r.want {
					t.Fatalf("after report %d at +%v: state got %s, want %s", i+1, r.after, g.State(), r.want)
				}
			}
			if g.Tripped() {
				ev := rec.trips[0]
				if ev.Reason != ReasonInconsistency || ev.Score != ev.Threshold || ev.Window.End.Sub(ev.Window.Start) != g.cfg.InconsistencyWindow {
					t.Errorf("evidence got %+v, want reason %s, score at threshold, window %v", ev, ReasonInconsistency, g.cfg.InconsistencyWindow)
				}
			}
		})
	}
}

func TestInconsistencyPauseAgesOut(t *testing.T) {
	g, clk := newTestGuard(t, Settings{})
	g.ReportInconsistency(clk.Now())
	if !g.Paused() || g.Scores().Inconsistencies != 1 {
		t.Fatalf("state %s, scores %+v; want paused with 1 inconsistency", g.State(), g.Scores())
	}
	// Traffic is healthy; the pause holds while the report is in the window.
	g.Tick(clk.Advance(59 * time.Second))
	if !g.Paused() {
		t.Fatalf("state 59 s later got %s, want paused", g.State())
	}
	g.Tick(clk.Advance(2 * time.Second))
	if g.State() != StateArmed || g.Scores().Inconsistencies != 0 {
		t.Errorf("state 61 s later got %s with %d inconsistencies, want armed with 0", g.State(), g.Scores().Inconsistencies)
	}
}

func TestInconsistencyOnPausedOrTrippedGuard(t *testing.T) {
	var rec recorder
	g, clk := newTestGuard(t, rec.settings(Settings{}))
	window(g, clk, 0, 4) // paused by the error rate
	g.ReportInconsistency(clk.Now())
	if len(rec.pauses) != 1 {
		t.Errorf("OnPause calls got %d, want 1 (already paused)", len(rec.pauses))
	}
	g.Trip(clk.Now())
	for range 5 {
		g.ReportInconsistency(clk.Now())
	}
	if len(rec.trips) != 1 {
		t.Errorf("OnTrip calls got %d, want 1 (already tripped)", len(rec.trips))
	}
}
