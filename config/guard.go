package config

import (
	"strconv"

	"github.com/sessionmigrate/sessionmigrate/migrate/guard"
)

// GuardSettings maps the guard section onto guard.Settings: ErrorRate,
// LatencyLimit and 1 - Availability become the limits (P1) of the three
// CUSUM signals, Sensitivity their trip threshold H, LatencyThreshold the
// SlowThreshold, ProcessDelayProbe the negation of DisableProbe. The clock and callbacks are left nil for the Migrator to
// set. Guard.Enabled is not part of the settings: the Migrator's
// DisableGuard option is its negation.
func (c *Config) GuardSettings() guard.Settings {
	g := c.Guard
	return guard.Settings{
		Interval:            g.Interval,
		ConsecutiveFailures: g.ConsecutiveFailures,
		SlowThreshold:       g.LatencyThreshold,
		ProbeInterval:       g.ProbeInterval,
		DisableProbe:        !g.ProcessDelayProbe,
		MinWindowOps:        g.MinWindowOps,
		ErrorRate:           guard.CUSUM{P1: g.ErrorRate, H: g.Sensitivity},
		Latency:             guard.CUSUM{P1: g.LatencyLimit, H: g.Sensitivity},
		Availability:        guard.CUSUM{P1: complement(g.Availability), H: g.Sensitivity},
		InconsistencyLimit:  g.InconsistencyLimit,
		InconsistencyWindow: g.InconsistencyWindow,
		InconsistencyPause:  g.InconsistencyPause,
	}
}

// complement returns 1 - x as a reader computes it in decimal. In binary
// floating point 1 - 0.999 is 0.0010000000000000009, not the guard's
// default limit 0.001, so availability: 0.999 would not give the guard
// guard.Settings{} gives. Rounding to 15 decimal places removes the
// subtraction's error (below 1e-16) for any value written with at most 15
// decimals; a difference too small to survive the rounding is returned as
// it is.
func complement(x float64) float64 {
	d := 1 - x
	r, err := strconv.ParseFloat(strconv.FormatFloat(d, 'f', 15, 64), 64)
	if err != nil || r == 0 {
		return d
	}
	return r
}
