package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// TestBadInput checks that every kind of bad input exits with its code and
// one clear line on stderr, and changes nothing.
func TestBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"unknown stage", []string{"stage", "warp", "--reason", "r"}, exitUsage, []string{`unknown stage "warp": allowed local, shadow, dual, ramp, complete`}},
		{"percent above 100", []string{"ramp", "101", "--reason", "r"}, exitUsage, []string{"percent 101 is outside 0-100"}},
		{"percent negative", []string{"ramp", "--reason", "r", "--", "-1"}, exitUsage, []string{"percent -1 is outside 0-100"}},
		{"percent not a number", []string{"ramp", "abc", "--reason", "r"}, exitUsage, []string{`percent "abc" is not a number`}},
		{"percent exponent", []string{"ramp", "1e1", "--reason", "r"}, exitUsage, []string{`percent "1e1" is not a number`}},
		{"percent NaN", []string{"ramp", "NaN", "--reason", "r"}, exitUsage, []string{"is not a number"}},
		{"percent 3 decimals", []string{"ramp", "12.345", "--reason", "r"}, exitUsage, []string{"percent 12.345 has more than 2 decimals"}},
		{"missing reason", []string{"stage", "shadow"}, exitUsage, []string{"--reason is required"}},
		{"blank reason", []string{"ramp", "5", "--reason", "  "}, exitUsage, []string{"--reason is required"}},
		{"missing stage", []string{"stage", "--reason", "r"}, exitUsage, []string{"accepts 1 arg"}},
		{"extra args", []string{"status", "now"}, exitUsage, []string{"accepts 0 arg"}},
		{"unknown command", []string{"stats"}, exitUsage, []string{`unknown command "stats"`, "did you mean: status"}},
		{"unknown flag", []string{"status", "--colour"}, exitUsage, []string{"unknown flag: --colour"}},
		{"bad output", []string{"status", "-o", "xml"}, exitUsage, []string{`-o "xml": must be table, json or yaml`}},
		{"bad timeout", []string{"status", "--timeout", "soon"}, exitUsage, []string{"--timeout"}},
		{"history zero", []string{"history", "-n", "0"}, exitUsage, []string{"-n 0: must be a positive number"}},
		{"config subcommand", []string{"config", "check"}, exitUsage, []string{`unknown command "check"`}},
		{"tls ca unreadable", []string{"status", "--tls", "--tls-ca-file", "/nonexistent/ca.pem"}, exitUsage, []string{"redis.tls.ca_file: cannot read: open /nonexistent/ca.pem"}},
		{"tls file without tls", []string{"status", "--tls-ca-file", "/nonexistent/ca.pem"}, exitUsage, []string{"redis.tls.ca_file: set while redis.tls.enabled is false"}},
		{"no password flag", []string{"status", "--redis-password", "x"}, exitUsage, []string{"unknown flag: --redis-password"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			r := h.run(tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit: got %d, want %d\n%v", r.code, tt.code, r)
			}
			oneLine(t, r, tt.want...)
			if r.stdout != "" {
				t.Errorf("stdout: got %q, want nothing", r.stdout)
			}
			if s := h.state(); s.Epoch != 0 {
				t.Errorf("state changed to %v", s)
			}
		})
	}
}

func TestInvalidConfig(t *testing.T) {
	h := newHarness(t)
	h.env["MIGRATECTL_GUARD_ERROR_RATE"] = "1.5"
	h.env["MIGRATECTL_CLI_TIMEOUT"] = "0s"
	r := h.run("status")
	if r.code != exitUsage {
		t.Fatalf("exit: got %d, want %d\n%v", r.code, exitUsage, r)
	}
	for _, want := range []string{"migratectl: invalid configuration:\n", "  guard.error_rate: 1.5 outside (0, 1)\n", "  cli.timeout: 0s must be > 0\n"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr %q lacks %q", r.stderr, want)
		}
	}
	// One problem: one line.
	delete(h.env, "MIGRATECTL_CLI_TIMEOUT")
	r = h.run("status")
	oneLine(t, r, "invalid configuration: guard.error_rate: 1.5 outside (0, 1)")
}

func TestUnreachableRedis(t *testing.T) {
	port, err := redistest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for _, args := range [][]string{{"status"}, {"ramp", "5", "--reason", "r"}, {"history"}} {
		t.Run(args[0], func(t *testing.T) {
			h := newHarness(t)
			start := time.Now()
			r := h.run(append(args, "--redis-addr", addr)...)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %s, want a fast failure (< 2s)", d)
			}
			if r.code != exitError {
				t.Fatalf("exit: got %d, want %d\n%v", r.code, exitError, r)
			}
			oneLine(t, r, "cannot reach Redis at "+addr)
		})
	}
}

func TestCorruptState(t *testing.T) {
	tests := []struct {
		name, value string
		want        []string
	}{
		{"bad json", "{nope", []string{"not a JSON state"}},
		{"unknown stage", `{"stage":"warp","percent":0,"epoch":3}`, []string{`stage "warp" is not one of`, "epoch 3"}},
		{"bad percent", `{"stage":"ramp","percent":250,"epoch":4}`, []string{"percent: 250 is outside 0..100"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			key := h.client().StateKey()
			if err := h.rdb().Set(context.Background(), key, tt.value, 0).Err(); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"status"}, {"stage", "shadow", "--reason", "r"}, {"route", "-"}} {
				r := h.runWith("some-session\n", nil, args...)
				if r.code != exitError {
					t.Fatalf("%s: exit %d, want %d\n%v", args[0], r.code, exitError, r)
				}
				oneLine(t, r, append([]string{fmt.Sprintf("state key %q is corrupt", key)}, tt.want...)...)
			}
		})
	}
}

func TestCorruptLastDiff(t *testing.T) {
	h := newHarness(t)
	h.setState(control.StageRamp, 100)
	key := "{" + h.prefix + "}:lastdiff"
	if err := h.rdb().Set(context.Background(), key, "garbage", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// status still shows the state, and says what is wrong beside it.
	var v statusView
	decodeJSON(t, h.ok("status", "-o", "json"), &v)
	if v.State.Stage != "ramp" || !strings.Contains(v.LastDiffError, key) {
		t.Errorf("got %+v, want the state and a last_diff_error naming %s", v, key)
	}
	r := h.run("stage", "complete", "--reason", "r")
	if r.code != exitError {
		t.Fatalf("exit: got %d, want %d\n%v", r.code, exitError, r)
	}
	oneLine(t, r, fmt.Sprintf("last diff record key %q is corrupt", key))
}

func TestHelpDocumentsExitCodes(t *testing.T) {
	h := newHarness(t)
	r := h.ok("--help")
	for _, want := range []string{"Exit codes:", "3  refused by a guard rail", "MIGRATECTL_REDIS_ADDR", "status", "route"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}
