package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/migrate/control"
	"github.com/sessionmigrate/sessionmigrate/redact"
)

// checkLine returns preflight's result for the check called name.
func checkLine(t *testing.T, v preflightView, name string) checkResult {
	t.Helper()
	for _, c := range v.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %q check in %+v", name, v.Checks)
	return checkResult{}
}

func TestPreflight(t *testing.T) {
	for _, tc := range []struct {
		name      string
		redisArgs []string
		setup     func(t *testing.T, h *harness)
		args      []string
		wantExit  int
		want      map[string]string // check -> result
	}{
		{name: "healthy loopback, no instance", wantExit: 0,
			want: map[string]string{"redis": checkPass, "tls": checkPass, "eviction": checkPass, "auth": checkWarn,
				"persistence": checkWarn, "replication": checkWarn, "memory": checkWarn, "latency": checkPass, "clock": checkWarn, "salt": checkWarn}},
		{name: "strict counts warnings", args: []string{"--strict"}, wantExit: exitPreflightBase | exitPreflightConnection | exitPreflightCapacity | exitPreflightTopology | exitPreflightFleet},
		{name: "allkeys eviction", redisArgs: []string{"--maxmemory", "100mb", "--maxmemory-policy", "allkeys-lru"},
			wantExit: exitPreflightBase | exitPreflightCapacity, want: map[string]string{"eviction": checkFail}},
		{name: "volatile eviction", redisArgs: []string{"--maxmemory", "100mb", "--maxmemory-policy", "volatile-lru"},
			wantExit: exitPreflightBase | exitPreflightCapacity, want: map[string]string{"eviction": checkFail}},
		{name: "no room for the sessions", redisArgs: []string{"--maxmemory", "2mb"},
			setup: func(t *testing.T, h *harness) {
				heartbeat(t, h, control.Heartbeat{InstanceID: "web-1", Stage: "local", LocalSessions: 5000, SaltID: redact.SaltID("sessionmigrate")}, 0)
			},
			wantExit: exitPreflightBase | exitPreflightCapacity, want: map[string]string{"memory": checkFail, "eviction": checkPass, "salt": checkPass, "clock": checkPass}},
		{name: "salts and clocks disagree", setup: func(t *testing.T, h *harness) {
			heartbeat(t, h, control.Heartbeat{InstanceID: "web-1", Stage: "local", SaltID: redact.SaltID("a")}, 0)
			heartbeat(t, h, control.Heartbeat{InstanceID: "web-2", Stage: "local", SaltID: redact.SaltID("b")}, 3*time.Second)
		}, wantExit: exitPreflightBase | exitPreflightFleet, want: map[string]string{"salt": checkFail, "clock": checkFail}},
		{name: "unreachable", setup: func(t *testing.T, h *harness) {
			s := redistest.StartServer(t)
			h.env["MIGRATECTL_REDIS_ADDR"] = s.Addr
			if err := s.Kill(); err != nil {
				t.Fatal(err)
			}
		}, wantExit: exitPreflightBase | exitPreflightConnection, want: map[string]string{"redis": checkFail, "eviction": checkSkip, "salt": checkSkip}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := redistest.StartServer(t, tc.redisArgs...)
			h := newHarness(t)
			h.env["MIGRATECTL_REDIS_ADDR"] = s.Addr
			if tc.setup != nil {
				tc.setup(t, h)
			}
			r := h.run(append([]string{"preflight", "-o", "json", "--pings", "5"}, tc.args...)...)
			if r.code != tc.wantExit {
				t.Errorf("exit: got %d, want %d\n%v", r.code, tc.wantExit, r)
			}
			var v preflightView
			decodeJSON(t, r, &v)
			if v.ExitCode != r.code {
				t.Errorf("exit_code %d, exit %d", v.ExitCode, r.code)
			}
			for name, want := range tc.want {
				if c := checkLine(t, v, name); c.Result != want {
					t.Errorf("%s: got %s (%s), want %s", name, c.Result, c.Detail, want)
				}
			}
			table := h.run(append([]string{"preflight", "--pings", "5"}, tc.args...)...)
			if table.code != tc.wantExit || !strings.Contains(table.stdout, "preflight: ") {
				t.Errorf("table: got %v", table)
			}
		})
	}
}

// heartbeat publishes hb under h's prefix from an instance whose clock is
// skew ahead.
func heartbeat(t *testing.T, h *harness, hb control.Heartbeat, skew time.Duration) {
	t.Helper()
	c, err := control.New(h.rdbAt(), control.Options{Prefix: h.prefix, Clock: func() time.Time { return time.Now().Add(skew) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.PublishHeartbeat(context.Background(), hb, time.Minute); err != nil {
		t.Fatal(err)
	}
}
