package config_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/config"
)

// valid returns the defaults with an address: a valid configuration.
func valid() config.Config {
	c := config.Default()
	c.Redis.Addrs = []string{"127.0.0.1:6380"}
	return c
}

func TestValidateDefaultsWithAddr(t *testing.T) {
	c := valid()
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: got %v, want nil", err)
	}
}

func TestValidateMessages(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *config.Config)
		want   string
	}{
		{"no addrs", func(c *config.Config) { c.Redis.Addrs = nil }, "redis.addrs: must not be empty (comma-separated host:port list)"},
		{"bad addr", func(c *config.Config) { c.Redis.Addrs = []string{"localhost"} }, `redis.addrs: "localhost" is not host:port (port 1-65535)`},
		{"bad port", func(c *config.Config) { c.Redis.Addrs = []string{"h:70000"} }, `redis.addrs: "h:70000" is not host:port`},
		{"two standalone", func(c *config.Config) { c.Redis.Addrs = []string{"a:1", "b:1"} }, "redis.addrs: 2 addresses for a standalone server"},
		{"sentinel and cluster", func(c *config.Config) { c.Redis.MasterName, c.Redis.Cluster = "m", true }, "redis.master_name: sentinel cannot be combined with redis.cluster"},
		{"negative db", func(c *config.Config) { c.Redis.DB = -1 }, "redis.db: -1 must be >= 0"},
		{"cluster db", func(c *config.Config) { c.Redis.Cluster, c.Redis.DB = true, 2 }, "redis.db: 2 not available with redis.cluster"},
		{"password twice", func(c *config.Config) { c.Redis.Password, c.Redis.PasswordFile = "x", "/f" }, "redis.password_file: cannot be combined with a password from the environment"},
		{"password file missing", func(c *config.Config) { c.Redis.PasswordFile = "/nonexistent/pw" }, "redis.password_file: cannot read: open /nonexistent/pw"},
		{"tls file while off", func(c *config.Config) { c.Redis.TLS.CAFile = "/ca.pem" }, "redis.tls.ca_file: set while redis.tls.enabled is false"},
		{"tls ca missing", func(c *config.Config) { c.Redis.TLS.Enabled, c.Redis.TLS.CAFile = true, "/nonexistent/ca.pem" }, "redis.tls.ca_file: cannot read"},
		{"dial timeout", func(c *config.Config) { c.Redis.DialTimeout = 0 }, "redis.dial_timeout: 0s must be > 0"},
		{"read timeout", func(c *config.Config) { c.Redis.ReadTimeout = -time.Second }, "redis.read_timeout: -1s must be > 0"},
		{"write timeout", func(c *config.Config) { c.Redis.WriteTimeout = 0 }, "redis.write_timeout: 0s must be > 0"},
		{"pool size", func(c *config.Config) { c.Redis.PoolSize = -1 }, "redis.pool_size: -1 must be >= 0"},
		{"store prefix empty", func(c *config.Config) { c.Store.Prefix = "" }, "store.prefix: must not be empty"},
		{"store prefix brace", func(c *config.Config) { c.Store.Prefix = "{x}" }, `store.prefix: "{x}" must not start with '{'`},
		{"store max ttl", func(c *config.Config) { c.Store.MaxTTL = 0 }, "store.max_ttl: 0s must be > 0"},
		{"store timeout", func(c *config.Config) { c.Store.Timeout = 0 }, "store.timeout: 0s must be > 0"},
		{"control prefix empty", func(c *config.Config) { c.Control.Prefix = " " }, "control.prefix: must not be empty"},
		{"control prefix brace", func(c *config.Config) { c.Control.Prefix = "a{b" }, `control.prefix: "a{b" must not contain '{' or '}'`},
		{"control poll", func(c *config.Config) { c.Control.PollInterval = 0 }, "control.poll_interval: 0s must be > 0"},
		{"control heartbeat", func(c *config.Config) { c.Control.HeartbeatInterval = 0 }, "control.heartbeat_interval: 0s must be > 0"},
		{"control timeout", func(c *config.Config) { c.Control.Timeout = 0 }, "control.timeout: 0s must be > 0"},
		{"drain window", func(c *config.Config) { c.Control.DrainWindow = -time.Minute }, "control.drain_window: -1m0s must be >= 0"},
		{"salt", func(c *config.Config) { c.Migration.Salt = "" }, "migration.salt: must not be empty"},
		{"migration poll", func(c *config.Config) { c.Migration.PollInterval = 0 }, "migration.poll_interval: 0s must be > 0"},
		{"flag timeout", func(c *config.Config) { c.Migration.FlagTimeout = 0 }, "migration.flag_timeout: 0s must be > 0"},
		{"dist timeout", func(c *config.Config) { c.Migration.DistTimeout = 0 }, "migration.dist_timeout: 0s must be > 0"},
		{"repair interval", func(c *config.Config) { c.Migration.RepairInterval = 0 }, "migration.repair_interval: 0s must be > 0"},
		{"compare delay negative", func(c *config.Config) { c.Migration.CompareDelay = -time.Second }, "migration.compare_delay: -1s must be >= 0"},
		{"compare delay at dist timeout", func(c *config.Config) { c.Migration.CompareDelay = 100 * time.Millisecond },
			"migration.compare_delay: 100ms must be above migration.dist_timeout (100ms)"},
		{"compare delay below a raised dist timeout", func(c *config.Config) {
			c.Migration.DistTimeout, c.Migration.CompareDelay = 400*time.Millisecond, 250*time.Millisecond
		}, "migration.compare_delay: 250ms must be above migration.dist_timeout (400ms)"},
		{"max unsynced", func(c *config.Config) { c.Migration.MaxUnsynced = 0 }, "migration.max_unsynced: 0 must be >= 1"},
		{"close timeout", func(c *config.Config) { c.Migration.CloseTimeout = 0 }, "migration.close_timeout: 0s must be > 0"},
		{"queue size", func(c *config.Config) { c.Migration.QueueSize = 0 }, "migration.queue_size: 0 outside [1, 1048576]"},
		{"async workers", func(c *config.Config) { c.Migration.AsyncWorkers = -2 }, "migration.async_workers: -2 outside [1, 1048576]"},
		{"shadow sample", func(c *config.Config) { c.Migration.ShadowSample = 0 }, "migration.shadow_sample: 0 outside [1, 1048576]"},
		{"compare queue", func(c *config.Config) { c.Migration.CompareQueue = 0 }, "migration.compare_queue: 0 outside [1, 1048576]"},
		{"guard interval", func(c *config.Config) { c.Guard.Interval = 0 }, "guard.interval: 0s must be > 0"},
		{"consecutive failures", func(c *config.Config) { c.Guard.ConsecutiveFailures = 0 }, "guard.consecutive_failures: 0 outside [1, 1048576]"},
		{"min window ops", func(c *config.Config) { c.Guard.MinWindowOps = 1 << 21 }, "guard.min_window_ops: 2097152 outside [1, 1048576]"},
		{"error rate", func(c *config.Config) { c.Guard.ErrorRate = 1.5 }, "guard.error_rate: 1.5 outside (0, 1)"},
		{"error rate zero", func(c *config.Config) { c.Guard.ErrorRate = 0 }, "guard.error_rate: 0 outside (0, 1)"},
		{"error rate NaN", func(c *config.Config) { c.Guard.ErrorRate = math.NaN() }, "guard.error_rate: NaN outside (0, 1)"},
		{"latency threshold", func(c *config.Config) { c.Guard.LatencyThreshold = 0 }, "guard.latency_threshold: 0s must be > 0"},
		{"probe interval", func(c *config.Config) { c.Guard.ProbeInterval = -time.Millisecond }, "guard.probe_interval: -1ms must be > 0"},
		{"latency limit", func(c *config.Config) { c.Guard.LatencyLimit = 1 }, "guard.latency_limit: 1 outside (0, 1)"},
		{"availability", func(c *config.Config) { c.Guard.Availability = 99.9 }, "guard.availability: 99.9 outside (0, 1)"},
		{"sensitivity", func(c *config.Config) { c.Guard.Sensitivity = math.Inf(1) }, "guard.sensitivity: +Inf must be a finite number > 0"},
		{"inconsistency limit", func(c *config.Config) { c.Guard.InconsistencyLimit, c.Guard.InconsistencyPause = 0, 0 }, "guard.inconsistency_limit: 0 outside [1, 1048576]"},
		{"inconsistency window", func(c *config.Config) { c.Guard.InconsistencyWindow = 0 }, "guard.inconsistency_window: 0s must be > 0"},
		{"inconsistency pause", func(c *config.Config) { c.Guard.InconsistencyPause = 4 }, "guard.inconsistency_pause: 4 outside [1, guard.inconsistency_limit = 3]"},
		{"output", func(c *config.Config) { c.CLI.Output = "xml" }, `cli.output: "xml" is not one of table, json, yaml`},
		{"cli timeout", func(c *config.Config) { c.CLI.Timeout = 0 }, "cli.timeout: 0s must be > 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.mutate(&c)
			err := c.Validate()
			if err == nil {
				t.Fatalf("Validate: got nil, want %q", tt.want)
			}
			if !hasLine(err.Error(), tt.want) {
				t.Errorf("got %q, want a line starting %q", err, tt.want)
			}
		})
	}
}

// hasLine reports whether some line of s starts with prefix.
func hasLine(s, prefix string) bool {
	for line := range strings.SplitSeq(s, "\n") {
		if strings.HasPrefix(line, prefix) {
			return true
		}
	}
	return false
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := valid()
	c.Redis.Addrs = nil
	c.Guard.ErrorRate = 1.5
	c.CLI.Output = "xml"
	err := c.Validate()
	for _, want := range []string{"redis.addrs:", "guard.error_rate:", "cli.output:"} {
		if err == nil || !hasLine(err.Error(), want) {
			t.Errorf("got %v, want a line starting %q", err, want)
		}
	}
}
