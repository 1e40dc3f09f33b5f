package guard

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrInvalidSettings is wrapped by every error New returns for a bad
// Settings value; the message names the field.
var ErrInvalidSettings = errors.New("guard: invalid settings")

// Defaults applied by New to zero-valued Settings fields.
const (
	DefaultInterval            = 100 * time.Millisecond
	DefaultProbeInterval       = 5 * time.Millisecond
	DefaultConsecutiveFailures = 8
	DefaultSlowThreshold       = 50 * time.Millisecond
	DefaultMinWindowOps        = 1
	DefaultErrorRateLimit      = 0.01        // error rate > 1%
	DefaultSlowLimit           = 0.01        // p99 > SlowThreshold
	DefaultUnavailableLimit    = 0.001       // availability < 99.9%
	DefaultH                   = 5.0         // see the calibration table in the package doc
	DefaultInconsistencyLimit  = 3           // trips on 3 ...
	DefaultInconsistencyWindow = time.Minute // ... within a minute
	DefaultInconsistencyPause  = 1
)

// Settings configures a Guard. Every zero value means the documented
// default, so Settings{} is the migration plan's guard.
type Settings struct {
	// Now is the clock: it stamps inline trips and Reset, and Start's
	// goroutine passes it to Tick. Default time.Now.
	Now func() time.Time

	// Interval is the period of the goroutine Start runs. Default 100 ms.
	Interval time.Duration

	// ConsecutiveFailures trips the guard inline, inside Record, on that
	// many failures in a row (Failure or Unavailable; Canceled neither
	// counts nor resets). Default 8.
	ConsecutiveFailures int

	// SlowThreshold is the latency above which an operation counts as
	// slow for the Latency signal, once the process's own delay during it
	// is taken off (see ProbeInterval). Default 50 ms, so the Latency
	// default limit of 1% slow operations reads "p99 > 50 ms".
	SlowThreshold time.Duration

	// ProbeInterval is the period of the probe Start runs to measure the
	// process's own delay: it sleeps ProbeInterval and records how late it
	// wakes. An operation slower than SlowThreshold only because the
	// process itself was stalled during it counts as neither slow nor,
	// for a Timeout, failed (see "Process delay" in the package doc).
	// Default 5 ms: a stall is seen to within 5 ms. After ten Ticks in a
	// row without an operation the probe wakes once per Interval instead,
	// until one comes, so an idle process is not kept awake 200 times a
	// second.
	ProbeInterval time.Duration
	// DisableProbe turns the probe off: latencies and timeouts are judged
	// as measured, whatever the process's own delay.
	DisableProbe bool

	// MinWindowOps is the smallest number of operations Tick evaluates.
	// A tick with fewer operations holds every score and carries its
	// counts over to the next tick, so no traffic never trips and never
	// decays. Default 1.
	MinWindowOps int

	// ErrorRate watches the share of Failure and Unavailable outcomes.
	// Default limit (P1) 1%.
	ErrorRate CUSUM
	// Latency watches the share of operations slower than SlowThreshold.
	// Default limit (P1) 1%.
	Latency CUSUM
	// Availability watches the share of Unavailable outcomes: operations
	// that got no answer at all. Default limit (P1) 0.1%, i.e.
	// availability below 99.9%.
	Availability CUSUM

	// InconsistencyLimit trips the guard when that many confirmed
	// inconsistencies are reported within InconsistencyWindow.
	// Default 3 within one minute; 1 trips on any inconsistency.
	InconsistencyLimit  int
	InconsistencyWindow time.Duration
	// InconsistencyPause pauses the guard when that many confirmed
	// inconsistencies fall within InconsistencyWindow. Default 1: any
	// inconsistency stops a ramp from advancing until it ages out. Must
	// not exceed InconsistencyLimit; equal disables the pause.
	InconsistencyPause int

	// OnStateChange, if set, is called on every state change, after the
	// change and outside any lock, on the goroutine that caused it (Record,
	// Tick, ReportInconsistency, Trip or Reset). Calls from different
	// goroutines may overlap or arrive out of order; State tells the
	// current state. It must not block: Record may be the caller.
	OnStateChange func(from, to State)
	// OnTrip, if set, is called exactly once per latch, after
	// OnStateChange, with the evidence. Same rules as OnStateChange.
	OnTrip func(Evidence)
	// OnPause, if set, is called when the pause tier engages (StateArmed
	// to StatePaused), after OnStateChange, with the evidence. Same rules
	// as OnStateChange.
	OnPause func(Evidence)
}

// CUSUM configures one Bernoulli CUSUM. Per evaluated window of n
// operations of which k are "bad" (failed, unavailable or slow) the score
// moves as
//
//	S = max(0, S + k·ln(P1/P0) + (n-k)·ln((1-P1)/(1-P0)))
//
// and the guard trips when S > H and pauses when S > Pause. The score rises
// on average while the true bad rate exceeds roughly
// ln((1-P0)/(1-P1)) / ln(P1(1-P0)/(P0(1-P1))), about 0.72·P1 with the
// default P0 = P1/2. The package doc has the detection delays these
// defaults give.
type CUSUM struct {
	// P0 is the acceptable bad rate. Default P1/2.
	P0 float64
	// P1 is the limit: the bad rate to detect quickly. Default per signal.
	P1 float64
	// H is the trip threshold. Default 5.
	H float64
	// Pause is the pause threshold, 0 < Pause <= H. Default H/2; Pause =
	// H disables the pause tier for this signal. A paused guard returns
	// to armed once every score is at or below half its Pause.
	Pause float64
	// Disabled turns the signal off: its score stays 0.
	Disabled bool
}

// withDefaults returns s with every zero field replaced by its default, or
// an error wrapping ErrInvalidSettings.
func (s Settings) withDefaults() (Settings, error) {
	if s.Now == nil {
		s.Now = time.Now
	}
	var err error
	if s.Interval, err = defaultDuration("Interval", s.Interval, DefaultInterval); err != nil {
		return s, err
	}
	if s.SlowThreshold, err = defaultDuration("SlowThreshold", s.SlowThreshold, DefaultSlowThreshold); err != nil {
		return s, err
	}
	if s.ProbeInterval, err = defaultDuration("ProbeInterval", s.ProbeInterval, DefaultProbeInterval); err != nil {
		return s, err
	}
	if s.InconsistencyWindow, err = defaultDuration("InconsistencyWindow", s.InconsistencyWindow, DefaultInconsistencyWindow); err != nil {
		return s, err
	}
	if s.ConsecutiveFailures, err = defaultCount("ConsecutiveFailures", s.ConsecutiveFailures, DefaultConsecutiveFailures); err != nil {
		return s, err
	}
	if s.MinWindowOps, err = defaultCount("MinWindowOps", s.MinWindowOps, DefaultMinWindowOps); err != nil {
		return s, err
	}
	if s.InconsistencyLimit, err = defaultCount("InconsistencyLimit", s.InconsistencyLimit, DefaultInconsistencyLimit); err != nil {
		return s, err
	}
	if s.InconsistencyPause, err = defaultCount("InconsistencyPause", s.InconsistencyPause, DefaultInconsistencyPause); err != nil {
		return s, err
	}
	if s.InconsistencyPause > s.InconsistencyLimit {
		return s, invalid("InconsistencyPause %d exceeds InconsistencyLimit %d", s.InconsistencyPause, s.InconsistencyLimit)
	}
	if s.ErrorRate, err = s.ErrorRate.withDefaults("ErrorRate", DefaultErrorRateLimit); err != nil {
		return s, err
	}
	if s.Latency, err = s.Latency.withDefaults("Latency", DefaultSlowLimit); err != nil {
		return s, err
	}
	if s.Availability, err = s.Availability.withDefaults("Availability", DefaultUnavailableLimit); err != nil {
		return s, err
	}
	return s, nil
}

func (c CUSUM) withDefaults(name string, limit float64) (CUSUM, error) {
	for _, f := range []struct {
		field string
		v     float64
	}{{"P0", c.P0}, {"P1", c.P1}, {"H", c.H}, {"Pause", c.Pause}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 {
			return c, invalid("%s.%s %v must be a finite number >= 0", name, f.field, f.v)
		}
	}
	if c.P1 == 0 {
		c.P1 = limit
	}
	if c.P0 == 0 {
		c.P0 = c.P1 / 2
	}
	if c.H == 0 {
		c.H = DefaultH
	}
	if c.Pause == 0 {
		c.Pause = c.H / 2
	}
	switch {
	case c.P1 >= 1:
		return c, invalid("%s.P1 %v must be below 1", name, c.P1)
	case c.P0 >= c.P1:
		return c, invalid("%s.P0 %v must be below P1 %v", name, c.P0, c.P1)
	case c.Pause > c.H:
		return c, invalid("%s.Pause %v exceeds H %v", name, c.Pause, c.H)
	}
	return c, nil
}

func defaultDuration(field string, v, def time.Duration) (time.Duration, error) {
	switch {
	case v < 0:
		return v, invalid("%s %v must not be negative", field, v)
	case v == 0:
		return def, nil
	}
	return v, nil
}

// maxCount keeps counts comparable with the packed 16-bit window fields and
// far from any overflow.
const maxCount = 1 << 20

func defaultCount(field string, v, def int) (int, error) {
	switch {
	case v < 0 || v > maxCount:
		return v, invalid("%s %d out of range [0, %d]", field, v, maxCount)
	case v == 0:
		return def, nil
	}
	return v, nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidSettings}, args...)...)
}
