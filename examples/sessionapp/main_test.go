package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// env returns a lookup over vars only.
func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func TestHelpExitsZero(t *testing.T) {
	for _, arg := range []string{"-h", "--help"} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{arg}, &out, &errOut, env(nil))
		if code != 0 {
			t.Errorf("%s: exit code %d, want 0 (stderr %q)", arg, code, errOut.String())
		}
		for _, want := range []string{"--redis-addr", "--config", "SESSIONMIGRATE_", "--cookie-secure", "required"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%s: usage lacks %q:\n%s", arg, want, out.String())
			}
		}
	}
}

// TestNoRedisAddress: nothing talks to a Redis nobody chose; the message
// says how to choose one.
func TestNoRedisAddress(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), nil, &out, &errOut, env(nil))
	if code != 2 {
		t.Fatalf("exit code %d, want 2", code)
	}
	for _, want := range []string{"no Redis address", "--redis-addr", "SESSIONMIGRATE_REDIS_ADDRS", "--config"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr %q lacks %q", errOut.String(), want)
		}
	}
	if strings.Contains(errOut.String()+out.String(), "6379") {
		t.Errorf("output mentions a default Redis port: %q", errOut.String())
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--nope"}, "unknown flag"},
		{"argument", []string{"--redis-addr", "127.0.0.1:1", "extra"}, "unexpected argument"},
		{"bad duration", []string{"--redis-addr", "127.0.0.1:1", "--dist-timeout", "5"}, "migration.dist_timeout"},
		{"bad lifetime", []string{"--redis-addr", "127.0.0.1:1", "--lifetime", "0s"}, "--lifetime"},
		{"missing file", []string{"--config", "/nonexistent/sessionmigrate.yaml"}, "nonexistent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var errOut bytes.Buffer
			if code := run(context.Background(), tt.args, &bytes.Buffer{}, &errOut, env(nil)); code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			if !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("stderr %q lacks %q", errOut.String(), tt.want)
			}
		})
	}
}

// TestSettingsSources: the shared configuration comes from the file, then
// the environment, then flags; sessionapp's own flags beside it.
func TestSettingsSources(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sessionmigrate.yaml")
	yaml := "redis:\n  addrs: [\"127.0.0.1:7001\"]\nstore:\n  prefix: \"file:\"\ncontrol:\n  poll_interval: 3s\nmigration:\n  dist_timeout: 70ms\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		addr       string
		prefix     string
		poll, dist time.Duration
	}{
		{"file", []string{"--config", file}, nil, "127.0.0.1:7001", "file:", 3 * time.Second, 70 * time.Millisecond},
		{"file named by the environment", nil, map[string]string{"SESSIONMIGRATE_CONFIG": file}, "127.0.0.1:7001", "file:", 3 * time.Second, 70 * time.Millisecond},
		{"environment over file", []string{"--config", file},
			map[string]string{"SESSIONMIGRATE_REDIS_ADDRS": "127.0.0.1:7002", "SESSIONMIGRATE_STORE_PREFIX": "env:"},
			"127.0.0.1:7002", "env:", 3 * time.Second, 70 * time.Millisecond},
		{"flags over environment", []string{"--config", file, "--redis-addr", "127.0.0.1:7003", "--store-prefix", "flag:", "--poll", "250ms", "--dist-timeout", "40ms"},
			map[string]string{"SESSIONMIGRATE_REDIS_ADDRS": "127.0.0.1:7002"},
			"127.0.0.1:7003", "flag:", 250 * time.Millisecond, 40 * time.Millisecond},
		{"defaults", []string{"--redis-addr", "127.0.0.1:7004"}, nil, "127.0.0.1:7004", "scs:session:", time.Second, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, help, err := parseSettings(tt.args, &bytes.Buffer{}, env(tt.env))
			if err != nil || help {
				t.Fatalf("parseSettings: %v (help %t)", err, help)
			}
			c := s.cfg
			if len(c.Redis.Addrs) != 1 || c.Redis.Addrs[0] != tt.addr || c.Store.Prefix != tt.prefix ||
				c.Control.PollInterval != tt.poll || c.Migration.DistTimeout != tt.dist {
				t.Errorf("got addrs %v prefix %q poll %v dist timeout %v; want %s %q %v %v",
					c.Redis.Addrs, c.Store.Prefix, c.Control.PollInterval, c.Migration.DistTimeout, tt.addr, tt.prefix, tt.poll, tt.dist)
			}
		})
	}
}

// TestSettingsReachTheOptions: what sessionapp builds its store and its
// Migrator with comes from the shared configuration, legacy sidecars (for
// a rolling upgrade) and the unsynced bound included.
func TestSettingsReachTheOptions(t *testing.T) {
	s, _, err := parseSettings([]string{"--redis-addr", "127.0.0.1:7005"}, &bytes.Buffer{}, env(map[string]string{
		"SESSIONMIGRATE_STORE_LEGACY_SIDECARS":  "true",
		"SESSIONMIGRATE_MIGRATION_MAX_UNSYNCED": "123456",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if so := s.cfg.StoreOptions(); !so.LegacySidecars || so.Prefix != "scs:session:" {
		t.Errorf("store options: got %+v, want legacy sidecars and the default prefix", so)
	}
	if mo := s.cfg.MigrateOptions(); mo.MaxUnsynced != 123456 {
		t.Errorf("migrate options: got MaxUnsynced %d, want 123456", mo.MaxUnsynced)
	}
}

func TestCookieFlags(t *testing.T) {
	tests := []struct {
		args []string
		want cookieSettings
	}{
		{nil, cookieSettings{name: "session_id", secure: true}},
		{[]string{"--cookie-secure=false"}, cookieSettings{name: "session_id"}},
		{[]string{"--cookie-name", "sid", "--cookie-domain", "example.com"}, cookieSettings{name: "sid", secure: true, domain: "example.com"}},
	}
	for _, tt := range tests {
		s, _, err := parseSettings(append([]string{"--redis-addr", "127.0.0.1:1"}, tt.args...), &bytes.Buffer{}, env(nil))
		if err != nil {
			t.Fatal(err)
		}
		if s.cookie != tt.want {
			t.Errorf("%q: got %+v, want %+v", tt.args, s.cookie, tt.want)
		}
	}
}
