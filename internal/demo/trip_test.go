package demo

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
	"github.com/sessionmigrate/sessionmigrate/migrate/guard"
)

func TestTripCause(t *testing.T) {
	s := guard.Settings{SlowThreshold: 50 * time.Millisecond, Latency: guard.CUSUM{P1: 0.01},
		ErrorRate: guard.CUSUM{P1: 0.01}, Availability: guard.CUSUM{P1: 0.001}}
	for _, tc := range []struct {
		name string
		ev   guard.Evidence
		want string
	}{
		{"latency", guard.Evidence{Reason: guard.ReasonLatency, Run: guard.Window{Ops: 80, Slow: 12}},
			"Redis looked slow to it: 12 of its last 80 Redis calls (15%) took longer than 50ms, and the guard allows 1%"},
		{"latency beside a stalled process", guard.Evidence{Reason: guard.ReasonLatency,
			Run: guard.Window{Ops: 1000, Slow: 13, Delayed: 40, ProcessDelay: 80 * time.Millisecond}},
			"Redis looked slow to it: 13 of its last 1,000 Redis calls (1.3%) took longer than 50ms, and the guard allows 1% " +
				"(40 more were slow only because its own process was held up, by up to 80ms, and did not count)"},
		{"error rate", guard.Evidence{Reason: guard.ReasonErrorRate, Run: guard.Window{Ops: 200, Failures: 10}},
			"Redis calls failed: 10 of its last 200 Redis calls (5%) failed, and the guard allows 1%"},
		{"availability", guard.Evidence{Reason: guard.ReasonAvailability, Run: guard.Window{Ops: 2000, Failures: 4, Unavailable: 4}},
			"Redis did not answer: 4 of its last 2,000 Redis calls (0.2%) got no answer in time, and the guard allows 0.1%"},
		{"consecutive failures", guard.Evidence{Reason: guard.ReasonConsecutiveFailures, Score: 8},
			"Redis did not answer: 8 calls in a row failed or got no answer in time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tripCause(tc.ev, s); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestUnexpectedTripSaysWhatHappened: when a guard rolls the migration back
// in a step that did not break Redis, the next move does not fail with the
// control plane's operator advice ("run resume first") but says what the
// guard saw and what a demo user can do.
func TestUnexpectedTripSaysWhatHappened(t *testing.T) {
	ctx := context.Background()
	b, err := startBackend(ctx, Options{ForceMiniredis: true}, t.Logf)
	if err != nil {
		t.Skip(err) // the embedded Redis cannot run the store here
	}
	defer b.Close()
	var out bytes.Buffer
	r := &runner{p: &printer{w: &out}, oprdb: b.client(), step: "ramp 100%"}
	defer r.oprdb.Close()
	if r.ctl, err = control.New(r.oprdb, control.Options{}); err != nil {
		t.Fatal(err)
	}
	in, err := startInstance(ctx, b, 1, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	r.insts = []*instance{in}
	defer r.closeInstances()
	if err := r.move(ctx, control.StageShadow, 0, "test"); err != nil {
		t.Fatal(err)
	}
	// Calls slower than the threshold by far more than this process has
	// existed, so its own delay (a loaded machine: the guard's probe sees
	// it and discounts calls it explains) cannot explain them: the guard
	// trips on latency and publishes the rollback. A margin of 50 ms was
	// explained away beside eight CPU-bound loops, and nothing tripped.
	g := in.m.Guard()
	slow := g.Settings().SlowThreshold + time.Hour
	for range 50 {
		g.Record(guard.Success, slow)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := r.ctl.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Tripped() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no rollback in the control plane 10 s after 50 slow calls: %s, guard %s", st, g.State())
		}
		time.Sleep(10 * time.Millisecond)
	}
	err = r.move(ctx, control.StageDual, 0, "test")
	if err == nil {
		t.Fatal("move after a rollback: got nil, want an error")
	}
	for _, want := range []string{`during step "ramp 100%"`, "guard of app-1 rolled the migration back",
		"Redis looked slow to it: 50 of its last 50 Redis calls (100%) took longer than " + latency(g.Settings().SlowThreshold),
		"run the demo again"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "resume") {
		t.Errorf("error %q gives operator advice to a demo user", err)
	}
	t.Logf("narration:\n%s\nerror: %v", out.String(), err)
	if !strings.Contains(out.String(), "FAIL: during step") || !strings.Contains(out.String(), "quieter") {
		t.Errorf("narration lacks the explanation:\n%s", out.String())
	}
}
