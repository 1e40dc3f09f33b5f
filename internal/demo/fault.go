package demo

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sessionmigrate/sessionmigrate/migrate"
	"github.com/sessionmigrate/sessionmigrate/migrate/control"
	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
)

// stepName is the fault step's name in the step table.
func (f Fault) stepName() string {
	if f == FaultLatency {
		return "redis slow"
	}
	return "redis outage"
}

// injection is the faultstore configuration of f.
func (f Fault) injection() faultstore.Fault {
	if f == FaultLatency {
		return faultstore.Fault{Latency: FaultLatencyDelay}
	}
	return faultstore.Fault{Outage: true}
}

// what says in words what f does to Redis.
func (f Fault) what() string {
	if f == FaultLatency {
		return fmt.Sprintf("Redis became slow: every call takes %s, over the 100ms request-path timeout.", latency(FaultLatencyDelay))
	}
	return "Redis became unreachable: every call fails."
}

// stepFault breaks Redis for every instance at once (it is one shared
// Redis) and waits, without any operator action, for the guards to roll
// back and for every instance to apply the rollback.
func (r *runner) stepFault(ctx context.Context) error {
	r.beginStep()
	for _, in := range r.insts {
		if err := in.fault.SetFault(r.opts.Fault.injection()); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	injected := time.Now()
	rb, err := r.waitRollback(ctx)
	if err != nil {
		return err
	}
	if _, err := r.waitAll(ctx, "the rollback", func(st migrate.State) bool {
		return st.Stage == migrate.Shadow && st.Epoch >= rb.Epoch
	}); err != nil {
		return err
	}
	r.applied, r.appliedIn = describe(rb.Stage, rb.Percent, rb.Epoch, true), time.Since(injected)
	if err := r.hold(ctx, r.opts.StepDuration); err != nil {
		return err
	}
	tripped, reasons := 0, []string{}
	for _, in := range r.insts {
		if st := in.m.State(); st.Tripped {
			tripped++
			if !slices.Contains(reasons, st.TripReason) {
				reasons = append(reasons, st.TripReason)
			}
		}
	}
	slices.Sort(reasons)
	d := r.metrics()
	r.notef("%s", r.opts.Fault.what())
	r.notef("No operator acted: the guards of %d/%d instances tripped on their own and rolled back",
		tripped, len(r.insts))
	// The signals on a line of their own: all of them together would not
	// fit a 100-column terminal beside the sentence that follows.
	r.notef("to %s (signals: %s).", rb.Stage, strings.Join(reasons, ", "))
	r.notef("The control plane records who and why:")
	r.notef("  guard@%s: %q", rb.Rollback.Instance, rb.Rollback.Reason)
	r.notef("users saw no error: %s reads fell back to local, the slowest request took %s;",
		thousands(d.of(mFallbacks, "reason", "error")), latency(r.load.Peak()))
	r.notef("%s Redis writes failed, so %s sessions wait for repair (served from local meanwhile)",
		thousands(d.of(mDistFails)+d.of(mAsyncWrites, "result", "error")), thousands(r.unsynced()))
	return nil
}

// waitRollback polls the control plane until it records a rollback.
func (r *runner) waitRollback(ctx context.Context) (control.State, error) {
	deadline := time.Now().Add(applyTimeout)
	for {
		st, err := r.ctl.State(ctx)
		if err != nil {
			return control.State{}, fmt.Errorf("demo: %w", err)
		}
		if st.Tripped() {
			return st, nil
		}
		if time.Now().After(deadline) {
			return control.State{}, fmt.Errorf("demo: no guard rolled back within %v of the fault (state %s)", applyTimeout, st)
		}
		select {
		case <-ctx.Done():
			return control.State{}, fmt.Errorf("demo: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}
