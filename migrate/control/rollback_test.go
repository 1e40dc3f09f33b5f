package control

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestRollback(t *testing.T) {
	ctx := context.Background()
	auto := RollbackRequest{Automatic: true, Signal: "error_rate", Reason: "2.1% errors", Instance: "web-1",
		Actor: "guard@web-1", Evidence: map[string]string{"error_rate": "0.021"}}
	tests := []struct {
		name      string
		from      func(State) State
		req       RollbackRequest
		wantStage string
		wantFrom  string // expected FromStage + percent, via String of a State
		wantErr   error
	}{
		{"ramp to default shadow", to(StageRamp, 40), auto, StageShadow, "ramp 40%", nil},
		{"dual to local", to(StageDual, 0), RollbackRequest{To: StageLocal, Reason: "manual"}, StageLocal, "dual", nil},
		{"already earlier stays", to(StageLocal, 0), auto, StageLocal, "local", nil},
		{"from complete refused", to(StageComplete, 100), auto, "", "", ErrRefused},
		{"from complete forced", to(StageComplete, 100), RollbackRequest{Reason: "r", Force: true}, StageShadow, "complete", nil},
		{"bad target", to(StageRamp, 10), RollbackRequest{To: StageRamp, Reason: "r"}, "", "", ErrInvalid},
		{"no reason", to(StageRamp, 10), RollbackRequest{}, "", "", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, rdb := newMini(t)
			c := newClient(t, rdb, Options{})
			before := mustApply(t, c, tt.from)
			got, err := c.Rollback(ctx, tt.req)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got %v, want %v", err, tt.wantErr)
				}
				if s, _ := c.State(ctx); s.Epoch != before.Epoch {
					t.Fatalf("refused rollback wrote epoch %d", s.Epoch)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rb := got.Rollback
			if got.Stage != tt.wantStage || rb == nil || got.Epoch != before.Epoch+1 {
				t.Fatalf("got %+v, want stage %s, rolled back, epoch %d", got, tt.wantStage, before.Epoch+1)
			}
			from := State{Stage: rb.FromStage, Percent: rb.FromPercent}.String()
			if !strings.HasPrefix(from, tt.wantFrom+" ") {
				t.Fatalf("got from %q, want %q", from, tt.wantFrom)
			}
			if rb.Reason != tt.req.Reason || rb.Automatic != tt.req.Automatic || rb.Signal != tt.req.Signal ||
				rb.Instance != tt.req.Instance || got.Actor != tt.req.Actor || rb.At.IsZero() {
				t.Fatalf("rollback info %+v / actor %q does not match request %+v", rb, got.Actor, tt.req)
			}
			if len(tt.req.Evidence) != len(rb.Evidence) {
				t.Fatalf("evidence: got %v, want %v", rb.Evidence, tt.req.Evidence)
			}
		})
	}
}

func TestRollbackIdempotentAndResume(t *testing.T) {
	_, rdb := newMini(t)
	c := newClient(t, rdb, Options{})
	ctx := context.Background()
	mustApply(t, c, to(StageRamp, 60))

	first, err := c.Rollback(ctx, RollbackRequest{Automatic: true, Signal: "error_rate", Reason: "errors", Instance: "web-1"})
	if err != nil {
		t.Fatal(err)
	}
	// Other instances trip on the same incident, and web-1 retries.
	for _, inst := range []string{"web-2", "web-3", "web-1"} {
		again, err := c.Rollback(ctx, RollbackRequest{Automatic: true, Signal: "latency", Reason: "slow", Instance: inst})
		if err != nil {
			t.Fatal(err)
		}
		if again.Epoch != first.Epoch || again.Rollback.Instance != "web-1" {
			t.Fatalf("repeat rollback from %s: got epoch %d by %s, want epoch %d by web-1", inst, again.Epoch, again.Rollback.Instance, first.Epoch)
		}
	}
	// An operator goes further back; the original from-stage is kept.
	further, err := c.Rollback(ctx, RollbackRequest{To: StageLocal, Reason: "be safe", Actor: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	if further.Stage != StageLocal || further.Rollback.FromStage != StageRamp || further.Rollback.FromPercent != 60 || further.Rollback.Automatic {
		t.Fatalf("got %+v / %+v, want local, from ramp 60, manual", further, further.Rollback)
	}

	resumed, err := c.Resume(ctx, "ann", "fixed the network")
	if err != nil {
		t.Fatal(err)
	}
	if resumed.Stage != StageRamp || resumed.Percent != 60 || resumed.Tripped() || resumed.Actor != "ann" || resumed.Reason != "fixed the network" {
		t.Fatalf("got %+v, want ramp 60%% by ann, not tripped", resumed)
	}
	if _, err := c.Resume(ctx, "bob", "again"); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "not rolled back") {
		t.Fatalf("second resume: got %v, want ErrRefused saying not rolled back", err)
	}
	h, err := c.History(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	kinds := make([]string, len(h))
	for i, e := range h {
		kinds[i] = e.Kind
	}
	if got, want := strings.Join(kinds, ","), "resume,rollback,rollback,update"; got != want {
		t.Fatalf("audit kinds: got %s, want %s", got, want)
	}
}

func TestRollbackEvidenceIsCopied(t *testing.T) {
	_, rdb := newMini(t)
	c := newClient(t, rdb, Options{})
	mustApply(t, c, to(StageDual, 0))
	ev := map[string]string{"a": "1"}
	got, err := c.Rollback(context.Background(), RollbackRequest{Reason: "r", Evidence: ev})
	if err != nil {
		t.Fatal(err)
	}
	ev["a"] = "changed"
	if got.Rollback.Evidence["a"] != "1" {
		t.Fatalf("got evidence %v, want the caller's map copied", got.Rollback.Evidence)
	}
}
