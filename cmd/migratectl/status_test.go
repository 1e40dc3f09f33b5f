package main

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// seedStatus gives h a state at epoch >= 2 with a rollback, two instances
// (one behind) and a clean diff.
func seedStatus(t *testing.T, h *harness) control.State {
	t.Helper()
	ctx := context.Background()
	c := h.client()
	h.setState(control.StageRamp, 40)
	st, err := c.Rollback(ctx, control.RollbackRequest{Automatic: true, Signal: "error_rate", Reason: "error rate 3.4%",
		Evidence: map[string]string{"error_rate": "0.034"}, Instance: "web-2", Actor: "guard@web-2"})
	if err != nil {
		t.Fatal(err)
	}
	for _, hb := range []control.Heartbeat{
		{InstanceID: "web-1", Host: "h1", Version: "v1", Stage: st.Stage, Epoch: st.Epoch, LocalSessions: 12, DistP99: 3 * time.Millisecond,
			Unsynced: 4, AsyncDropped: 7, LastDiff: &control.InstanceDiff{Job: "diff-1", Checked: 12, InDistributed: 10}},
		{InstanceID: "web-2", Host: "h2", Version: "v1", Stage: "ramp", Percent: 40, Epoch: st.Epoch - 1, DistErrorRate: 0.034,
			Guard: control.GuardStatus{Tripped: true, Reason: "error rate"}},
	} {
		if err := c.PublishHeartbeat(ctx, hb, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.SetLastDiff(ctx, control.DiffResult{Epoch: st.Epoch, Clean: true, Checked: 100, Instances: 2, Actor: "diff"}); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestStatusJSON(t *testing.T) {
	h := newHarness(t)
	st := seedStatus(t, h)
	var v statusView
	decodeJSON(t, h.ok("status", "-o", "json"), &v)
	if v.State.Stage != "shadow" || v.State.Epoch != st.Epoch || !v.State.Tripped || v.State.Rollback == nil ||
		v.State.Rollback.Signal != "error_rate" || v.State.Rollback.Instance != "web-2" || v.State.Rollback.FromPercent != 40 ||
		v.State.Rollback.Evidence["error_rate"] != "0.034" || v.State.Actor != "guard@web-2" || v.State.Time == nil {
		t.Errorf("state: got %+v", v.State)
	}
	if len(v.Instances) != 2 || v.InstancesConverged != 1 || v.Converged {
		t.Fatalf("instances: got %+v, converged %d/%v; want 2 with 1 converged", v.Instances, v.InstancesConverged, v.Converged)
	}
	if in := v.Instances[0]; in.ID != "web-1" || !in.Converged || in.LocalSessions != 12 || in.DistP99Seconds != 0.003 {
		t.Errorf("web-1: got %+v", in)
	}
	if in := v.Instances[1]; in.ID != "web-2" || in.Converged || !in.GuardTripped || in.DistErrorRate != 0.034 {
		t.Errorf("web-2: got %+v", in)
	}
	if v.LastDiff == nil || !v.LastDiff.Clean || v.LastDiff.Checked != 100 || v.LastDiffError != "" {
		t.Errorf("last diff: got %+v (%q)", v.LastDiff, v.LastDiffError)
	}
}

// TestYAMLMatchesJSON checks that -o yaml prints the same document as -o
// json, field names included, for every read command.
func TestYAMLMatchesJSON(t *testing.T) {
	h := newHarness(t)
	seedStatus(t, h)
	for _, args := range [][]string{{"status"}, {"instances"}, {"history", "-n", "3"}, {"version"}, {"config", "validate"}} {
		t.Run(args[0], func(t *testing.T) {
			var fromJSON, fromYAML any
			if err := json.Unmarshal([]byte(h.ok(append(args, "-o", "json")...).stdout), &fromJSON); err != nil {
				t.Fatalf("json: %v", err)
			}
			y := h.ok(append(args, "-o", "yaml")...).stdout
			if err := yaml.Unmarshal([]byte(y), &fromYAML); err != nil {
				t.Fatalf("yaml: %v\n%s", err, y)
			}
			// Normalise the YAML through JSON so numbers and times compare alike.
			b, err := json.Marshal(fromYAML)
			if err != nil {
				t.Fatal(err)
			}
			var norm any
			if err := json.Unmarshal(b, &norm); err != nil {
				t.Fatal(err)
			}
			if args[0] == "config" { // the one value that differs: cli.output itself
				delete(fromJSON.(map[string]any)["cli"].(map[string]any), "output")
				delete(norm.(map[string]any)["cli"].(map[string]any), "output")
			}
			if !reflect.DeepEqual(fromJSON, norm) {
				t.Errorf("yaml and json differ:\njson %v\nyaml %v", fromJSON, norm)
			}
		})
	}
}

func TestStatusTable(t *testing.T) {
	h := newHarness(t)
	seedStatus(t, h)
	out := h.ok("status").stdout
	for _, want := range []string{"STAGE:", "shadow [rolled back]", "automatic (guard error_rate on web-2)", "resume restores ramp 40%",
		"clean: 100 checked on 2 instances", "mismatches: 0 missing, 0 stale, 0 extra, 0 data, 0 expiry",
		"REPAIR BACKLOG:  4 sessions unsynced; 7 async writes dropped", "2 live, 1 converged", "web-1", "TRIPPED", "NO"} {
		if !strings.Contains(out, want) {
			t.Errorf("status table lacks %q:\n%s", want, out)
		}
	}
}

func TestStatusInitial(t *testing.T) {
	h := newHarness(t)
	var v statusView
	decodeJSON(t, h.ok("status", "-o", "json"), &v)
	if v.State.Stage != "local" || v.State.Epoch != 0 || v.State.Time != nil || v.Instances == nil || len(v.Instances) != 0 || v.LastDiff != nil || !v.Converged {
		t.Errorf("got %+v, want local epoch 0, no instances, no diff", v)
	}
}

func TestInstances(t *testing.T) {
	h := newHarness(t)
	if out := h.ok("instances").stdout; out != "no live instances\n" {
		t.Errorf("no instances: got %q", out)
	}
	st := seedStatus(t, h)
	var v instancesView
	decodeJSON(t, h.ok("instances", "-o", "json"), &v)
	if v.Epoch != st.Epoch || len(v.Instances) != 2 || !v.Instances[0].Converged || v.Instances[1].Converged {
		t.Errorf("got %+v, want epoch %d and web-1 converged, web-2 not", v, st.Epoch)
	}
	out := h.ok("instances").stdout
	if !strings.Contains(out, "INSTANCE") || !strings.Contains(out, "web-2") {
		t.Errorf("instances table:\n%s", out)
	}
}

func TestHistory(t *testing.T) {
	h := newHarness(t)
	h.ok("stage", "shadow", "--reason", "one")
	h.ok("stage", "dual", "--reason", "two")
	h.ok("stage", "shadow", "--reason", "three")
	var v historyView
	decodeJSON(t, h.ok("history", "-n", "2", "-o", "json"), &v)
	if len(v.Entries) != 2 || v.Entries[0].State.Reason != "three" || v.Entries[1].State.Reason != "two" ||
		v.Entries[0].Epoch != 3 || v.Entries[0].Kind != "update" || v.Entries[0].Prev == nil || v.Entries[0].Prev.Stage != "dual" {
		t.Errorf("got %+v, want the 2 newest, newest first", v.Entries)
	}
	out := h.ok("history").stdout
	if strings.Count(out, "\n") != 4 || !strings.Contains(out, "local -> shadow") || !strings.Contains(out, "dual -> shadow") {
		t.Errorf("history table:\n%s", out)
	}
}
