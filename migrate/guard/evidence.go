package guard

import "time"

// State is the guard's state.
type State int32

const (
	// StateArmed is the normal state: watching, nothing found.
	StateArmed State = iota
	// StatePaused means a score crossed its pause threshold: a ramp must
	// not advance. It clears by itself when the scores fall back.
	StatePaused
	// StateTripped means the guard decided to roll back. It latches until
	// Reset, whatever the scores do.
	StateTripped
)

// String returns "armed", "paused" or "tripped".
func (s State) String() string {
	switch s {
	case StateArmed:
		return "armed"
	case StatePaused:
		return "paused"
	case StateTripped:
		return "tripped"
	default:
		return "invalid"
	}
}

// Reason names the signal behind a trip or a pause. The values form a small
// fixed set, safe as Prometheus label values.
type Reason string

// The reasons a guard trips or pauses.
const (
	ReasonConsecutiveFailures Reason = "consecutive_failures"
	ReasonErrorRate           Reason = "error_rate"
	ReasonLatency             Reason = "latency"
	ReasonAvailability        Reason = "availability"
	ReasonInconsistency       Reason = "inconsistency"
	ReasonManual              Reason = "manual"
)

// Reasons returns every Reason, in a fixed order, for pre-creating metric
// series. The slice is new on every call.
func Reasons() []Reason {
	return []Reason{
		ReasonConsecutiveFailures, ReasonErrorRate, ReasonLatency,
		ReasonAvailability, ReasonInconsistency, ReasonManual,
	}
}

// Evidence records why the guard tripped or paused, for the rollback
// notice, the audit trail and the operator deciding whether to resume.
type Evidence struct {
	// Reason is the signal that crossed its threshold.
	Reason Reason
	// At is when the guard decided: the Tick, ReportInconsistency or Trip
	// time, or Settings.Now for an inline trip in Record.
	At time.Time
	// Score is the signal's value when it crossed: the CUSUM score, the
	// number of consecutive failures, or the number of inconsistencies
	// within the window. 0 for a manual trip.
	Score float64
	// Threshold is the value Score exceeded (CUSUM H or Pause) or reached
	// (consecutive failures, inconsistencies).
	Threshold float64
	// Window is the last evaluated window. For inconsistencies it spans
	// InconsistencyWindow up to At; zero for an inline or manual trip.
	Window Window
	// Run is what the CUSUM score accumulated: every window since the
	// score last stood at 0. Zero for the other reasons.
	Run Window
}

// Window is a tally of operations over a time span. Rates are 0 when Ops is 0.
type Window struct {
	Start, End time.Time
	// Ops counts Success, Failure and Unavailable outcomes; Canceled ones
	// are not recorded.
	Ops uint64
	// Failures counts Failure and Unavailable outcomes.
	Failures uint64
	// Unavailable counts Unavailable outcomes.
	Unavailable uint64
	// Slow counts operations slower than Settings.SlowThreshold once the
	// process's own delay during them is taken off.
	Slow uint64
	// Delayed counts operations slower than Settings.SlowThreshold only
	// because the process itself was stalled during them (see "Process
	// delay" in the package doc). They are not in Slow; a delayed Timeout
	// is not in Ops either.
	Delayed uint64
	// ProcessDelay is the longest the probe found the process stalled
	// during the span: how late its wake-ups were.
	ProcessDelay time.Duration
}

// ErrorRate returns Failures/Ops.
func (w Window) ErrorRate() float64 { return ratio(w.Failures, w.Ops) }

// UnavailableRate returns Unavailable/Ops: one minus availability.
func (w Window) UnavailableRate() float64 { return ratio(w.Unavailable, w.Ops) }

// SlowRate returns Slow/Ops.
func (w Window) SlowRate() float64 { return ratio(w.Slow, w.Ops) }

func ratio(n, d uint64) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

func (w *Window) add(c counts) {
	w.Ops += c.ops
	w.Failures += c.fail
	w.Unavailable += c.down
	w.Slow += c.slow
	w.Delayed += c.delayed
	w.ProcessDelay = max(w.ProcessDelay, c.delay)
}

// Scores is a snapshot of every signal's current value, for gauges. CUSUM
// scores are comparable with their H (trip) and Pause thresholds.
type Scores struct {
	ErrorRate           float64
	Latency             float64
	Availability        float64
	ConsecutiveFailures uint64 // the current run of failures
	// Inconsistencies within InconsistencyWindow as of the last Tick or
	// ReportInconsistency.
	Inconsistencies int
}

// Get returns the score for r as a float64; 0 for ReasonManual and for
// unknown reasons.
func (s Scores) Get(r Reason) float64 {
	switch r {
	case ReasonErrorRate:
		return s.ErrorRate
	case ReasonLatency:
		return s.Latency
	case ReasonAvailability:
		return s.Availability
	case ReasonConsecutiveFailures:
		return float64(s.ConsecutiveFailures)
	case ReasonInconsistency:
		return float64(s.Inconsistencies)
	default:
		return 0
	}
}
