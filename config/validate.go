package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/sessionmigrate/sessionmigrate/migrate/guard"
)

// maxCount is the largest count the guard accepts.
const maxCount = 1 << 20

// Validate checks every value and combination and returns all problems at
// once (errors.Join), one per line, each starting with its key and saying
// what is allowed, for example
//
//	redis.addrs: must not be empty (comma-separated host:port list)
//	guard.error_rate: 1.5 outside (0, 1)
//
// It also reads the password file and the TLS files, so that an unreadable
// file is reported before anything connects. A nil error means
// [Config.RedisClient] and [Config.GuardSettings] will accept the values.
func (c *Config) Validate() error {
	var p problems
	c.validateRedis(&p)
	c.validateStore(&p)
	c.validateControl(&p)
	c.validateMigration(&p)
	c.validateGuard(&p)
	switch c.CLI.Output {
	case OutputTable, OutputJSON, OutputYAML:
	default:
		p.add("cli.output", "%q is not one of table, json, yaml", c.CLI.Output)
	}
	p.positive("cli.timeout", c.CLI.Timeout)
	return p.err()
}

// problems collects validation failures.
type problems []error

func (p *problems) add(key, format string, args ...any) {
	*p = append(*p, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

func (p *problems) addErr(err error) {
	if err != nil {
		*p = append(*p, err)
	}
}

func (p *problems) positive(key string, d time.Duration) {
	if d <= 0 {
		p.add(key, "%s must be > 0", d)
	}
}

func (p *problems) atLeast(key string, v, lo int) {
	if v < lo || v > maxCount {
		p.add(key, "%d outside [%d, %d]", v, lo, maxCount)
	}
}

// fraction checks 0 < v < 1.
func (p *problems) fraction(key string, v float64) {
	if math.IsNaN(v) || v <= 0 || v >= 1 {
		p.add(key, "%g outside (0, 1)", v)
	}
}

func (p *problems) nonEmpty(key, v, what string) {
	if strings.TrimSpace(v) == "" {
		p.add(key, "must not be empty (%s)", what)
	}
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return fmt.Errorf("config: invalid configuration:\n%w", errors.Join(p...))
}

func (c *Config) validateRedis(p *problems) {
	r := c.Redis
	if len(r.Addrs) == 0 {
		p.add("redis.addrs", "must not be empty (comma-separated host:port list)")
	}
	for _, a := range r.Addrs {
		if !validAddr(a) {
			p.add("redis.addrs", "%q is not host:port (port 1-65535)", a)
		}
	}
	switch {
	case r.MasterName != "" && r.Cluster:
		p.add("redis.master_name", "sentinel cannot be combined with redis.cluster (choose one)")
	case r.MasterName == "" && !r.Cluster && len(r.Addrs) > 1:
		p.add("redis.addrs", "%d addresses for a standalone server (give one, or set redis.cluster or redis.master_name)", len(r.Addrs))
	}
	switch {
	case r.DB < 0:
		p.add("redis.db", "%d must be >= 0", r.DB)
	case r.Cluster && r.DB != 0:
		p.add("redis.db", "%d not available with redis.cluster (a cluster has database 0 only)", r.DB)
	}
	if r.Password != "" && r.PasswordFile != "" {
		p.add("redis.password_file", "cannot be combined with a password from the environment (choose one)")
	} else if r.PasswordFile != "" {
		_, err := c.password()
		p.addErr(err)
	}
	c.validateTLS(p)
	p.positive("redis.dial_timeout", r.DialTimeout)
	p.positive("redis.read_timeout", r.ReadTimeout)
	p.positive("redis.write_timeout", r.WriteTimeout)
	if r.PoolSize < 0 {
		p.add("redis.pool_size", "%d must be >= 0 (0: go-redis default)", r.PoolSize)
	}
}

// validAddr reports whether a is host:port with a port in 1..65535.
func validAddr(a string) bool {
	host, port, err := net.SplitHostPort(a)
	if err != nil || host == "" {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}

func (c *Config) validateTLS(p *problems) {
	t := c.Redis.TLS
	if !t.Enabled {
		for _, f := range []struct {
			key string
			set bool
		}{
			{"redis.tls.ca_file", t.CAFile != ""},
			{"redis.tls.cert_file", t.CertFile != ""},
			{"redis.tls.key_file", t.KeyFile != ""},
			{"redis.tls.server_name", t.ServerName != ""},
			{"redis.tls.insecure_skip_verify", t.InsecureSkipVerify},
		} {
			if f.set {
				p.add(f.key, "set while redis.tls.enabled is false (set redis.tls.enabled: true, or --tls)")
			}
		}
		return
	}
	_, err := c.tlsConfig()
	p.addErr(err)
}

func (c *Config) validateStore(p *problems) {
	p.nonEmpty("store.prefix", c.Store.Prefix, `key prefix, default "scs:session:"`)
	if strings.HasPrefix(c.Store.Prefix, "{") {
		p.add("store.prefix", "%q must not start with '{' (sidecar keys do)", c.Store.Prefix)
	}
	p.positive("store.max_ttl", c.Store.MaxTTL)
	p.positive("store.timeout", c.Store.Timeout)
}

func (c *Config) validateControl(p *problems) {
	p.nonEmpty("control.prefix", c.Control.Prefix, `control plane name, default "sessionmigrate"`)
	if strings.ContainsAny(c.Control.Prefix, "{}") {
		p.add("control.prefix", "%q must not contain '{' or '}' (it becomes the hash tag)", c.Control.Prefix)
	}
	p.positive("control.poll_interval", c.Control.PollInterval)
	p.positive("control.heartbeat_interval", c.Control.HeartbeatInterval)
	p.positive("control.timeout", c.Control.Timeout)
	if c.Control.DrainWindow < 0 {
		p.add("control.drain_window", "%s must be >= 0 (0 disables the check)", c.Control.DrainWindow)
	}
}

func (c *Config) validateMigration(p *problems) {
	m := c.Migration
	p.nonEmpty("migration.salt", m.Salt, "the same on every instance, default \"sessionmigrate\"")
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"migration.poll_interval", m.PollInterval},
		{"migration.flag_timeout", m.FlagTimeout},
		{"migration.dist_timeout", m.DistTimeout},
		{"migration.repair_interval", m.RepairInterval},
		{"migration.close_timeout", m.CloseTimeout},
	} {
		p.positive(d.key, d.v)
	}
	switch {
	case m.CompareDelay < 0:
		p.add("migration.compare_delay", "%s must be >= 0 (0: 2 × migration.dist_timeout + 50ms)", m.CompareDelay)
	case m.CompareDelay > 0 && m.CompareDelay <= m.DistTimeout:
		// The re-check must come after a write under way at the compared
		// read has landed or timed out, or it reports a stale copy.
		p.add("migration.compare_delay", "%s must be above migration.dist_timeout (%s), or 0 for 2 × dist_timeout + 50ms", m.CompareDelay, m.DistTimeout)
	}
	p.atLeast("migration.queue_size", m.QueueSize, 1)
	p.atLeast("migration.async_workers", m.AsyncWorkers, 1)
	p.atLeast("migration.shadow_sample", m.ShadowSample, 1)
	p.atLeast("migration.compare_queue", m.CompareQueue, 1)
	if m.MaxUnsynced < 1 {
		p.add("migration.max_unsynced", "%d must be >= 1 (sessions; about 110 bytes each)", m.MaxUnsynced)
	}
}

func (c *Config) validateGuard(p *problems) {
	g := c.Guard
	before := len(*p)
	p.positive("guard.interval", g.Interval)
	p.atLeast("guard.consecutive_failures", g.ConsecutiveFailures, 1)
	p.atLeast("guard.min_window_ops", g.MinWindowOps, 1)
	p.fraction("guard.error_rate", g.ErrorRate)
	p.positive("guard.latency_threshold", g.LatencyThreshold)
	p.positive("guard.probe_interval", g.ProbeInterval)
	p.fraction("guard.latency_limit", g.LatencyLimit)
	p.fraction("guard.availability", g.Availability)
	if math.IsNaN(g.Sensitivity) || math.IsInf(g.Sensitivity, 0) || g.Sensitivity <= 0 {
		p.add("guard.sensitivity", "%g must be a finite number > 0", g.Sensitivity)
	}
	p.atLeast("guard.inconsistency_limit", g.InconsistencyLimit, 1)
	p.positive("guard.inconsistency_window", g.InconsistencyWindow)
	if g.InconsistencyPause < 1 || g.InconsistencyPause > g.InconsistencyLimit {
		p.add("guard.inconsistency_pause", "%d outside [1, guard.inconsistency_limit = %d]", g.InconsistencyPause, g.InconsistencyLimit)
	}
	if len(*p) > before {
		return
	}
	// The guard has rules of its own (P0 below P1, ...): ask it, so that a
	// valid configuration never fails at startup.
	if _, err := guard.New(c.GuardSettings()); err != nil {
		p.add("guard", "%v", err)
	}
}
