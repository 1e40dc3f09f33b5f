package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

func TestStageOrder(t *testing.T) {
	tests := []struct {
		name      string
		from      string
		percent   float64
		args      []string
		wantCode  int
		wantStage string
		wantPct   float64
		wantMsg   string // in stderr
	}{
		{"local to shadow", "local", 0, []string{"stage", "shadow"}, exitOK, "shadow", 0, ""},
		{"shadow to dual", "shadow", 0, []string{"stage", "dual"}, exitOK, "dual", 0, ""},
		{"dual to ramp keeps 0", "dual", 0, []string{"stage", "ramp"}, exitOK, "ramp", 0, ""},
		{"dual ramp 5", "dual", 0, []string{"ramp", "5"}, exitOK, "ramp", 5, ""},
		{"ramp up", "ramp", 5, []string{"ramp", "50.25"}, exitOK, "ramp", 50.25, ""},
		{"ramp down", "ramp", 50, []string{"ramp", "10%"}, exitOK, "ramp", 10, ""},
		{"stage ramp keeps percent", "ramp", 30, []string{"stage", "ramp"}, exitOK, "ramp", 30, "already ramp 30%"},
		{"skip shadow", "local", 0, []string{"stage", "dual"}, exitRefused, "local", 0, "refused: cannot move from local to dual: the next stage is shadow"},
		{"ramp from shadow", "shadow", 0, []string{"ramp", "10"}, exitRefused, "shadow", 0, "the next stage is dual"},
		{"ramp from local", "local", 0, []string{"ramp", "10"}, exitRefused, "local", 0, "the next stage is shadow"},
		{"complete below 100", "ramp", 99, []string{"stage", "complete"}, exitRefused, "ramp", 99, "complete needs ramp at 100% first"},
		{"complete without diff", "ramp", 100, []string{"stage", "complete"}, exitRefused, "ramp", 100, "no diff has been recorded"},
		{"backward ramp to dual", "ramp", 40, []string{"stage", "dual"}, exitOK, "dual", 0, ""},
		{"backward dual to local", "dual", 0, []string{"stage", "local"}, exitOK, "local", 0, ""},
		{"leave complete", "complete", 100, []string{"stage", "ramp"}, exitRefused, "complete", 100, "leaving complete"},
		{"leave complete by ramp", "complete", 100, []string{"ramp", "50"}, exitRefused, "complete", 100, "use --force"},
		{"leave complete forced", "complete", 100, []string{"stage", "ramp", "--force"}, exitOK, "ramp", 100, "warning: --force overrides"},
		{"skip forced", "local", 0, []string{"stage", "ramp", "--force"}, exitOK, "ramp", 0, "warning: --force overrides"},
		{"complete forced without diff", "ramp", 100, []string{"stage", "complete", "--force"}, exitOK, "complete", 100, "no diff has been recorded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			if tt.from != control.StageLocal {
				h.setState(tt.from, tt.percent)
			}
			r := h.run(append(tt.args, "--reason", "test")...)
			if r.code != tt.wantCode {
				t.Fatalf("exit code: got %d, want %d\n%v", r.code, tt.wantCode, r)
			}
			if tt.wantMsg != "" && !strings.Contains(r.stderr+r.stdout, tt.wantMsg) {
				t.Errorf("output does not contain %q\n%v", tt.wantMsg, r)
			}
			if tt.wantCode == exitRefused {
				oneLine(t, r)
			}
			s := h.state()
			if s.Stage != tt.wantStage || s.Percent != tt.wantPct {
				t.Errorf("state: got %s %g%%, want %s %g%%", s.Stage, s.Percent, tt.wantStage, tt.wantPct)
			}
		})
	}
}

func TestCompleteNeedsCleanDiff(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	ctx := context.Background()
	at100 := h.setState(control.StageRamp, 100)

	diff := func(d control.DiffResult) control.DiffResult {
		d.Stage, d.Percent, d.Epoch, d.Checked = control.StageRamp, 100, at100.Epoch, 10
		return d
	}
	if err := c.SetLastDiff(ctx, diff(control.DiffResult{At: at100.Time.Add(time.Second), Missing: 2})); err != nil {
		t.Fatal(err)
	}
	r := h.run("stage", "complete", "--reason", "done")
	if r.code != exitRefused {
		t.Fatalf("dirty diff: got exit %d, want %d\n%v", r.code, exitRefused, r)
	}
	oneLine(t, r, "2 missing")

	if err := c.SetLastDiff(ctx, diff(control.DiffResult{At: at100.Time.Add(-time.Hour), Clean: true})); err != nil {
		t.Fatal(err)
	}
	r = h.run("stage", "complete", "--reason", "done")
	if r.code != exitRefused {
		t.Fatalf("stale diff: got exit %d, want %d\n%v", r.code, exitRefused, r)
	}
	oneLine(t, r, "predates the current state")

	if err := c.SetLastDiff(ctx, diff(control.DiffResult{At: at100.Time.Add(time.Second), Clean: true})); err != nil {
		t.Fatal(err)
	}
	h.ok("stage", "complete", "--reason", "done")
	if s := h.state(); s.Stage != control.StageComplete {
		t.Errorf("after a clean diff: got %s, want complete", s)
	}
}

func TestChangeRecordsActorAndReason(t *testing.T) {
	h := newHarness(t)
	r := h.ok("stage", "shadow", "--reason", "start shadow", "--actor", "alice", "-o", "json")
	var v changeView
	decodeJSON(t, r, &v)
	if !v.Changed || v.DryRun || v.Command != "stage" || v.From.Stage != "local" || v.To.Stage != "shadow" || v.To.Epoch != 1 {
		t.Errorf("got %+v, want a written local -> shadow at epoch 1", v)
	}
	s := h.state()
	if s.Actor != "alice" || s.Reason != "start shadow" || s.Epoch != 1 {
		t.Errorf("stored: got actor %q reason %q epoch %d, want alice, start shadow, 1", s.Actor, s.Reason, s.Epoch)
	}
	// Without --actor: cli.actor from the environment.
	h.ok("stage", "dual", "--reason", "r")
	if s := h.state(); s.Actor != "tester" {
		t.Errorf("actor: got %q, want tester (MIGRATECTL_CLI_ACTOR)", s.Actor)
	}
}

func TestDefaultActorIsUserAtHost(t *testing.T) {
	h := newHarness(t)
	delete(h.env, "MIGRATECTL_CLI_ACTOR")
	h.env["USER"] = "bob"
	h.ok("stage", "shadow", "--reason", "r")
	if s := h.state(); !strings.HasPrefix(s.Actor, "bob@") {
		t.Errorf("actor: got %q, want bob@<hostname>", s.Actor)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *harness)
		args  []string
		code  int
		to    string
	}{
		{"stage", nil, []string{"stage", "shadow"}, exitOK, "shadow"},
		{"ramp", func(h *harness) { h.setState("dual", 0) }, []string{"ramp", "20"}, exitOK, "ramp"},
		{"rollback", func(h *harness) { h.setState("ramp", 20) }, []string{"rollback"}, exitOK, "shadow"},
		{"resume", func(h *harness) { h.setState("ramp", 20); h.ok("rollback", "--reason", "r") }, []string{"resume"}, exitOK, "ramp"},
		{"refused", nil, []string{"stage", "dual"}, exitRefused, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			if tt.setup != nil {
				tt.setup(h)
			}
			before := h.state()
			r := h.run(append(tt.args, "--dry-run", "--reason", "try", "-o", "json")...)
			if r.code != tt.code {
				t.Fatalf("exit: got %d, want %d\n%v", r.code, tt.code, r)
			}
			after := h.state()
			if after.Epoch != before.Epoch || after.Stage != before.Stage || after.Time != before.Time {
				t.Errorf("dry run changed the state: before %v, after %v", before, after)
			}
			if tt.code != exitOK {
				return
			}
			var v changeView
			decodeJSON(t, r, &v)
			if !v.DryRun || v.Changed || v.From.Epoch != before.Epoch || v.To.Stage != tt.to || v.To.Epoch != before.Epoch+1 || v.To.Time != nil {
				t.Errorf("got %+v, want a dry run %s -> %s at epoch %d", v, before.Stage, tt.to, before.Epoch+1)
			}
		})
	}
}

func TestDryRunTable(t *testing.T) {
	h := newHarness(t)
	r := h.ok("stage", "shadow", "--dry-run", "--reason", "r")
	if want := "dry run: local -> shadow (epoch 0 -> 1): nothing changed\n"; r.stdout != want {
		t.Errorf("got %q, want %q", r.stdout, want)
	}
}
