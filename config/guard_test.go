package config_test

import (
	"math"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/config"
	"github.com/sessionmigrate/sessionmigrate/migrate/control"
	"github.com/sessionmigrate/sessionmigrate/migrate/guard"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// TestGuardSettingsDefaults checks that the configuration's defaults are
// the guard's own: Default().GuardSettings() and guard.Settings{} give the
// same guard.
func TestGuardSettingsDefaults(t *testing.T) {
	c := config.Default()
	got, err := guard.New(c.GuardSettings())
	if err != nil {
		t.Fatal(err)
	}
	want, err := guard.New(guard.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	g, w := got.Settings(), want.Settings()
	if g.Interval != w.Interval || g.ConsecutiveFailures != w.ConsecutiveFailures || g.SlowThreshold != w.SlowThreshold ||
		g.ProbeInterval != w.ProbeInterval || g.DisableProbe != w.DisableProbe ||
		g.MinWindowOps != w.MinWindowOps || g.InconsistencyLimit != w.InconsistencyLimit ||
		g.InconsistencyWindow != w.InconsistencyWindow || g.InconsistencyPause != w.InconsistencyPause {
		t.Errorf("got %+v, want %+v", g, w)
	}
	for _, s := range []struct {
		name string
		g, w guard.CUSUM
	}{{"error_rate", g.ErrorRate, w.ErrorRate}, {"latency", g.Latency, w.Latency}, {"availability", g.Availability, w.Availability}} {
		if math.Abs(s.g.P1-s.w.P1) > 1e-12 || math.Abs(s.g.P0-s.w.P0) > 1e-12 || s.g.H != s.w.H || s.g.Pause != s.w.Pause {
			t.Errorf("%s: got %+v, want %+v", s.name, s.g, s.w)
		}
	}
}

func TestGuardSettingsMapping(t *testing.T) {
	c := config.Default()
	c.Guard.ErrorRate = 0.05
	c.Guard.LatencyLimit = 0.02
	c.Guard.LatencyThreshold = 20 * time.Millisecond
	c.Guard.Availability = 0.99
	c.Guard.Sensitivity = 3
	c.Guard.ConsecutiveFailures = 4
	c.Guard.ProcessDelayProbe = false
	c.Guard.ProbeInterval = 2 * time.Millisecond
	s := c.GuardSettings()
	if s.ErrorRate.P1 != 0.05 || s.Latency.P1 != 0.02 || s.SlowThreshold != 20*time.Millisecond ||
		math.Abs(s.Availability.P1-0.01) > 1e-12 || s.ErrorRate.H != 3 || s.Latency.H != 3 || s.Availability.H != 3 ||
		s.ConsecutiveFailures != 4 || !s.DisableProbe || s.ProbeInterval != 2*time.Millisecond {
		t.Errorf("got %+v, want the configured values", s)
	}
}

// TestDefaultsMatchPackages pins the defaults that must agree with the
// packages that use them.
func TestDefaultsMatchPackages(t *testing.T) {
	c := config.Default()
	if c.Store.Prefix != redisstore.DefaultPrefix {
		t.Errorf("store.prefix: got %q, want redisstore.DefaultPrefix %q", c.Store.Prefix, redisstore.DefaultPrefix)
	}
	if c.Store.MaxTTL != redisstore.DefaultMaxTTL {
		t.Errorf("store.max_ttl: got %v, want %v", c.Store.MaxTTL, redisstore.DefaultMaxTTL)
	}
	if c.Control.Prefix != control.DefaultPrefix {
		t.Errorf("control.prefix: got %q, want control.DefaultPrefix %q", c.Control.Prefix, control.DefaultPrefix)
	}
	if c.Control.PollInterval != control.DefaultPollInterval || c.Control.Timeout != control.DefaultTimeout ||
		c.Control.HeartbeatInterval != control.DefaultHeartbeatInterval {
		t.Errorf("control: got %+v, want the control package defaults", c.Control)
	}
}
