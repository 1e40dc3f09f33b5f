package config

import "github.com/sessionmigrate/sessionmigrate/migrate/guard"

// GuardSettings maps the guard section onto guard.Settings: ErrorRate,
// LatencyLimit and 1 - Availability become the limits (P1) of the three
// CUSUM signals, Sensitivity their trip threshold H, LatencyThreshold the
// SlowThreshold. The clock and callbacks are left nil for the Migrator to
// set. Guard.Enabled is not part of the settings: the Migrator's
// DisableGuard option is its negation.
func (c *Config) GuardSettings() guard.Settings {
	g := c.Guard
	return guard.Settings{
		Interval:            g.Interval,
		ConsecutiveFailures: g.ConsecutiveFailures,
		SlowThreshold:       g.LatencyThreshold,
		MinWindowOps:        g.MinWindowOps,
		ErrorRate:           guard.CUSUM{P1: g.ErrorRate, H: g.Sensitivity},
		Latency:             guard.CUSUM{P1: g.LatencyLimit, H: g.Sensitivity},
		Availability:        guard.CUSUM{P1: 1 - g.Availability, H: g.Sensitivity},
		InconsistencyLimit:  g.InconsistencyLimit,
		InconsistencyWindow: g.InconsistencyWindow,
		InconsistencyPause:  g.InconsistencyPause,
	}
}
