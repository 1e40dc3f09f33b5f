package main

import (
	"context"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// TestRampHeldByGuards: while an instance reports its guard paused or
// tripped, advancing is refused (exit 3) unless forced; moving back is not.
func TestRampHeldByGuards(t *testing.T) {
	tests := []struct {
		name  string
		guard control.GuardStatus
	}{
		{"paused", control.GuardStatus{Paused: true}},
		{"tripped", control.GuardStatus{Tripped: true, Reason: "latency"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.setState(control.StageRamp, 10)
			err := h.client().PublishHeartbeat(context.Background(), control.Heartbeat{
				InstanceID: "app-1", Stage: control.StageRamp, Percent: 10, Epoch: h.state().Epoch, Guard: tt.guard,
			}, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			r := h.run("ramp", "20", "--reason", "more")
			if r.code != exitRefused {
				t.Fatalf("ramp up with a %s guard: got exit %d, want %d\n%v", tt.name, r.code, exitRefused, r)
			}
			oneLine(t, r, "app-1")
			if s := h.state(); s.Percent != 10 {
				t.Fatalf("refused ramp changed the state: %s", s)
			}
			h.ok("ramp", "5", "--reason", "back off")
			h.ok("ramp", "20", "--reason", "override", "--force")
			if s := h.state(); s.Percent != 20 {
				t.Fatalf("forced ramp: got %g%%, want 20%%", s.Percent)
			}
		})
	}
}
