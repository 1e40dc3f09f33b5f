package main

import (
	"strings"
	"testing"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

func TestRollbackAndResume(t *testing.T) {
	h := newHarness(t)
	h.setState(control.StageRamp, 25)

	r := h.ok("rollback", "--reason", "p99 spike", "-o", "json")
	var v changeView
	decodeJSON(t, r, &v)
	if !v.Changed || v.To.Stage != "shadow" || !v.To.Tripped || v.To.Rollback == nil ||
		v.To.Rollback.FromStage != "ramp" || v.To.Rollback.FromPercent != 25 || v.To.Rollback.Reason != "p99 spike" || v.To.Rollback.Automatic {
		t.Errorf("rollback: got %+v, want ramp 25%% -> shadow, latched", v)
	}

	// Forward moves are refused while rolled back.
	r = h.run("stage", "dual", "--reason", "r")
	if r.code != exitRefused {
		t.Fatalf("forward while rolled back: got exit %d, want %d\n%v", r.code, exitRefused, r)
	}
	oneLine(t, r, "rolled back", "resume")

	// Rolling back again to the same stage changes nothing.
	r = h.ok("rollback", "--reason", "again")
	if !strings.Contains(r.stdout, "nothing changed") {
		t.Errorf("second rollback: got %q, want nothing changed", r.stdout)
	}
	epoch := h.state().Epoch

	// Further back keeps what resume restores.
	h.ok("rollback", "--to", "local", "--reason", "worse")
	if s := h.state(); s.Stage != "local" || s.Epoch != epoch+1 || s.Rollback.FromStage != "ramp" {
		t.Errorf("rollback to local: got %+v, want local, from ramp", s)
	}

	r = h.ok("resume", "--reason", "fixed")
	if s := h.state(); s.Stage != "ramp" || s.Percent != 25 || s.Tripped() {
		t.Errorf("resume: got %v, want ramp 25%% not tripped\n%v", s, r)
	}

	r = h.run("resume", "--reason", "again")
	if r.code != exitRefused {
		t.Fatalf("resume when not rolled back: got exit %d, want %d\n%v", r.code, exitRefused, r)
	}
	oneLine(t, r, "nothing to resume")
}

func TestRollbackRules(t *testing.T) {
	tests := []struct {
		name      string
		from      string
		percent   float64
		args      []string
		code      int
		wantStage string
		msg       string
	}{
		{"to dual", "ramp", 10, []string{"--to", "dual"}, exitOK, "dual", ""},
		{"to ramp", "ramp", 10, []string{"--to", "ramp"}, exitUsage, "ramp", `--to "ramp": allowed local, shadow, dual`},
		{"to bogus", "ramp", 10, []string{"--to", "bogus"}, exitUsage, "ramp", "allowed local, shadow, dual"},
		{"from complete", "complete", 100, nil, exitRefused, "complete", "use --force"},
		{"from complete forced", "complete", 100, []string{"--force"}, exitOK, "shadow", "warning: --force overrides"},
		{"from local latches", "local", 0, nil, exitOK, "local", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			if tt.from != "local" {
				h.setState(tt.from, tt.percent)
			}
			r := h.run(append([]string{"rollback", "--reason", "r"}, tt.args...)...)
			if r.code != tt.code {
				t.Fatalf("exit: got %d, want %d\n%v", r.code, tt.code, r)
			}
			if tt.msg != "" && !strings.Contains(r.stderr, tt.msg) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tt.msg)
			}
			if s := h.state(); s.Stage != tt.wantStage || (tt.code == exitOK) != s.Tripped() {
				t.Errorf("state: got %v, want %s, tripped %v", s, tt.wantStage, tt.code == exitOK)
			}
		})
	}
}
