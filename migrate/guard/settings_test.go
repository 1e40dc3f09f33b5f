package guard

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	g, err := New(Settings{})
	if err != nil {
		t.Fatalf("New(Settings{}): %v", err)
	}
	s := g.Settings()
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"Interval", s.Interval, 100 * time.Millisecond},
		{"ConsecutiveFailures", s.ConsecutiveFailures, 8},
		{"SlowThreshold", s.SlowThreshold, 50 * time.Millisecond},
		{"ProbeInterval", s.ProbeInterval, 5 * time.Millisecond},
		{"MinWindowOps", s.MinWindowOps, 1},
		{"ErrorRate", s.ErrorRate, CUSUM{P0: 0.005, P1: 0.01, H: 5, Pause: 2.5}},
		{"Latency", s.Latency, CUSUM{P0: 0.005, P1: 0.01, H: 5, Pause: 2.5}},
		{"Availability", s.Availability, CUSUM{P0: 0.0005, P1: 0.001, H: 5, Pause: 2.5}},
		{"InconsistencyLimit", s.InconsistencyLimit, 3},
		{"InconsistencyWindow", s.InconsistencyWindow, time.Minute},
		{"InconsistencyPause", s.InconsistencyPause, 1},
		{"Now set", s.Now != nil, true},
	} {
		if c.got != c.want {
			t.Errorf("%s got %v, want %v", c.name, c.got, c.want)
		}
	}
	// Partial CUSUM settings default relative to what is set.
	g, err = New(Settings{ErrorRate: CUSUM{P1: 0.02, H: 8}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if got, want := g.Settings().ErrorRate, (CUSUM{P0: 0.01, P1: 0.02, H: 8, Pause: 4}); got != want {
		t.Errorf("ErrorRate got %+v, want %+v", got, want)
	}
}

func TestInvalidSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Settings
		want string // in the message
	}{
		{"negative interval", Settings{Interval: -1}, "Interval"},
		{"negative slow threshold", Settings{SlowThreshold: -time.Millisecond}, "SlowThreshold"},
		{"negative probe interval", Settings{ProbeInterval: -time.Millisecond}, "ProbeInterval"},
		{"negative window", Settings{InconsistencyWindow: -time.Second}, "InconsistencyWindow"},
		{"negative consecutive failures", Settings{ConsecutiveFailures: -1}, "ConsecutiveFailures"},
		{"huge consecutive failures", Settings{ConsecutiveFailures: maxCount + 1}, "ConsecutiveFailures"},
		{"negative min window ops", Settings{MinWindowOps: -5}, "MinWindowOps"},
		{"negative inconsistency limit", Settings{InconsistencyLimit: -1}, "InconsistencyLimit"},
		{"pause above limit", Settings{InconsistencyLimit: 2, InconsistencyPause: 3}, "InconsistencyPause 3 exceeds InconsistencyLimit 2"},
		{"p0 equals p1", Settings{ErrorRate: CUSUM{P0: 0.01, P1: 0.01}}, "ErrorRate.P0 0.01 must be below P1 0.01"},
		{"p0 above default p1", Settings{Latency: CUSUM{P0: 0.02}}, "Latency.P0 0.02 must be below P1 0.01"},
		{"p1 of 1", Settings{Availability: CUSUM{P1: 1}}, "Availability.P1 1 must be below 1"},
		{"negative p0", Settings{ErrorRate: CUSUM{P0: -0.1}}, "ErrorRate.P0"},
		{"NaN h", Settings{ErrorRate: CUSUM{H: math.NaN()}}, "ErrorRate.H"},
		{"infinite h", Settings{ErrorRate: CUSUM{H: math.Inf(1)}}, "ErrorRate.H"},
		{"pause above h", Settings{Latency: CUSUM{H: 4, Pause: 5}}, "Latency.Pause 5 exceeds H 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := New(tc.s)
			if !errors.Is(err, ErrInvalidSettings) || g != nil {
				t.Fatalf("New got %v, %v; want nil, an error wrapping ErrInvalidSettings", g, err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "guard: ") {
				t.Errorf("error got %q, want it to start with \"guard: \" and contain %q", err, tc.want)
			}
		})
	}
}

func TestNames(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{StateArmed.String(), "armed"},
		{StatePaused.String(), "paused"},
		{StateTripped.String(), "tripped"},
		{State(9).String(), "invalid"},
		{Success.String(), "success"},
		{Failure.String(), "failure"},
		{Unavailable.String(), "unavailable"},
		{Canceled.String(), "canceled"},
		{Timeout.String(), "timeout"},
		{Outcome(9).String(), "invalid"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	want := []Reason{"consecutive_failures", "error_rate", "latency", "availability", "inconsistency", "manual"}
	got := Reasons()
	if len(got) != len(want) {
		t.Fatalf("Reasons() got %v, want %v", got, want)
	}
	s := Scores{ErrorRate: 1, Latency: 2, Availability: 3, ConsecutiveFailures: 4, Inconsistencies: 5}
	scores := map[Reason]float64{"consecutive_failures": 4, "error_rate": 1, "latency": 2, "availability": 3, "inconsistency": 5, "manual": 0}
	for i, r := range got {
		if r != want[i] {
			t.Errorf("Reasons()[%d] got %q, want %q", i, r, want[i])
		}
		if s.Get(r) != scores[r] {
			t.Errorf("Scores.Get(%s) got %v, want %v", r, s.Get(r), scores[r])
		}
	}
}

func TestUnknownOutcomeCountsAsFailure(t *testing.T) {
	g, _ := newTestGuard(t, Settings{})
	g.Record(Outcome(42), time.Millisecond)
	if c := g.drain(); c != (counts{ops: 1, fail: 1}) {
		t.Errorf("counts got %+v, want one failure", c)
	}
}
