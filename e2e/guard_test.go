package e2e

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/internal/faultproxy"
	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/internal/vuser"
	"github.com/sessionmigrate/sessionmigrate/migrate"
)

// Guard scenario bounds.
const (
	tripBound  = 10 * time.Second // from the fault to every instance tripped
	drainBound = 20 * time.Second // async queues empty after the fault ends
	slowRedis  = 120 * time.Millisecond
)

// TestGuard is issue 5's "done when". Sessions live in their own
// redis-server, which the instances reach through a fault proxy; the control
// plane has its own server, reached directly, so that the rollback can be
// published while the session store is sick. At ramp 50, under load:
//
//   - "latency": the proxy delays each direction by 120ms. Every
//     instance's guard trips (tripped, routing back to shadow), the control
//     state records the automatic rollback, and no user notices. Latency
//     back to 0 and `migratectl resume` restore ramp 50 on every instance.
//   - "crash": the session server is killed. Every guard trips on
//     consecutive failures, users notice nothing; the server restarts (empty)
//     and `migratectl resume` restores ramp 50.
//
// Detection time is the guard's trip time (its evidence's At, stamped by
// the instance) minus the moment the test injected the fault; both clocks
// are this machine's.
func TestGuard(t *testing.T) {
	skipShort(t)
	ctlSrv := redistest.StartServer(t)
	sessSrv := redistest.StartServer(t)
	proxy, err := faultproxy.New(sessSrv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	insts := startInstances(t, 3, proxy.Addr(), instanceConfig{ControlRedisAddr: ctlSrv.Addr})
	op := operator{t: t, addr: ctlSrv.Addr}
	load := startLoad(t, insts, vuser.Config{})
	for _, args := range [][]string{{"stage", "shadow"}, {"stage", "dual"}, {"ramp", "50"}} {
		waitApplied(t, insts, op.change(append(args, "--reason", "e2e guard: setup")...), applyBound)
	}
	progress(t, load, usersPerStep, progressBound)

	t.Run("latency", func(t *testing.T) {
		defer proxy.SetLatency(0, 0) // also when the subtest fails early
		start := time.Now()
		proxy.SetLatency(slowRedis, 0)
		waitTripped(t, insts, op, start, 50)
		checkTimeoutsCounted(t, insts)
		proxy.SetLatency(0, 0)
		resume(t, insts, op, load)
	})

	t.Run("crash", func(t *testing.T) {
		defer func() { // also when the subtest fails early
			if !sessSrv.Running() {
				_ = sessSrv.Restart()
			}
		}()
		start := time.Now()
		if err := sessSrv.Kill(); err != nil {
			t.Fatal(err)
		}
		waitTripped(t, insts, op, start, 50)
		if err := sessSrv.Restart(); err != nil {
			t.Fatal(err)
		}
		resume(t, insts, op, load)
	})

	checkClean(t, load.Stop())
}

// waitTripped waits until every instance's guard has tripped and routes as
// shadow, checks that the control plane recorded an automatic rollback from
// ramp at fromPercent, and logs the detection times since faultAt: when the
// first guard's rollback reached the control plane (from then on every
// instance follows it) and when each instance's own guard tripped.
func waitTripped(t *testing.T, insts []*instance, op operator, faultAt time.Time, fromPercent float64) {
	t.Helper()
	sts := waitStatus(t, insts, tripBound, "tripped", func(st migrate.Status) bool {
		return st.Tripped && st.Stage == migrate.Shadow
	})
	var slowest time.Duration
	for i, st := range sts {
		if st.LastTrip == nil || st.LastTrip.At.Before(faultAt) {
			t.Errorf("%s: tripped without evidence of a trip after the fault: %s", insts[i].Name, describeStatus(st.Status))
			continue
		}
		d := st.LastTrip.At.Sub(faultAt)
		slowest = max(slowest, d)
		t.Logf("%s: own guard tripped on %s %s after the fault, seen tripped by /status after %s (evidence %s)",
			insts[i].Name, st.LastTrip.Reason, d.Round(time.Millisecond), st.Seen.Sub(faultAt).Round(time.Millisecond), evidence(st.Status))
	}

	s := op.status()
	r := s.State.Rollback
	switch {
	case !s.State.Tripped || r == nil:
		t.Fatalf("control state %s: want an automatic rollback", s.State)
	case !r.Automatic || r.FromStage != "ramp" || r.FromPercent != fromPercent || s.State.Stage != "shadow" || r.At == nil:
		t.Errorf("control state %s rollback %+v: want automatic, to shadow, from ramp %g, with a time", s.State, *r, fromPercent)
	default:
		t.Logf("control state %s: automatic rollback by %s on %s: %q", s.State, r.Instance, r.Signal, r.Reason)
		t.Logf("detection: rollback in the control plane %s after the fault; every instance's own guard tripped within %s",
			r.At.Sub(faultAt).Round(time.Millisecond), slowest.Round(time.Millisecond))
	}
}

// checkTimeoutsCounted checks that the distributed operations the slow
// store timed out were counted as errors, which the guard, the error-rate
// metrics and the heartbeats see, and not as canceled, which they ignore.
// No user request is canceled here (the load allows 5s; a request takes at
// most a few DistTimeouts), so every distributed operation that ended early
// did so because the store was too slow.
func checkTimeoutsCounted(t *testing.T, insts []*instance) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	const ops = "sessionmigrate_store_operations_total"
	for _, in := range insts {
		canceled, err1 := in.Metric(ctx, ops, `store="distributed"`, `result="canceled"`)
		failed, err2 := in.Metric(ctx, ops, `store="distributed"`, `result="error"`)
		if err := errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: distributed operations counted error=%g canceled=%g", in.Name, failed, canceled)
		if canceled != 0 {
			t.Errorf("%s: %g distributed operations that timed out were counted as canceled, want 0: "+
				"the guard and the error metrics do not see them", in.Name, canceled)
		}
	}
}

// evidence summarises a trip's evidence window.
func evidence(st migrate.Status) string {
	if st.LastTrip == nil {
		return "none"
	}
	e := st.LastTrip
	return fmt.Sprintf("score %.3g > %.3g, window %d ops, %d failed, %d slow", e.Score, e.Threshold, e.Window.Ops, e.Window.Failures, e.Window.Slow)
}

// resume waits for the instances' async queues to drain (the store is
// healthy again: what queued during the fault lands), then runs migratectl
// resume and checks every instance is back at ramp 50 with its guard armed.
func resume(t *testing.T, insts []*instance, op operator, load *vuser.Load) {
	t.Helper()
	waitStatus(t, insts, drainBound, "drained", func(st migrate.Status) bool { return st.QueueDepth == 0 })
	st := op.change("resume", "--reason", "e2e guard: "+t.Name()+" over")
	if st.Stage != "ramp" || st.Percent != 50 || st.Tripped {
		t.Fatalf("resume wrote %s, want ramp 50%% not rolled back", st)
	}
	for _, s := range waitApplied(t, insts, st, applyBound) {
		if s.Tripped {
			t.Errorf("after resume: %s, want the guard released", describeStatus(s.Status))
		}
	}
	progress(t, load, usersPerStep, progressBound)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, in := range insts {
		if s, err := in.Status(ctx); err != nil || s.Tripped || !applied(s, st) {
			t.Errorf("%s after resume and load: %s %v, want ramp 50 untripped", in.Name, describeStatus(s), err)
		}
	}
}
