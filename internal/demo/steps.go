package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/sessionmigrate/sessionmigrate/migrate"
	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// Metric names the narration reads (see migrate's metrics).
const (
	mAsyncWrites    = "sessionmigrate_async_writes_total"
	mAsyncDropped   = "sessionmigrate_async_dropped_total"
	mComparisons    = "sessionmigrate_comparisons_total"
	mMismatches     = "sessionmigrate_mismatches_total"
	mCompareDropped = "sessionmigrate_comparisons_dropped_total"
	mLazyCopies     = "sessionmigrate_lazy_copies_total"
	mFallbacks      = "sessionmigrate_fallbacks_total"
	mDistFails      = "sessionmigrate_dist_write_failures_total"
	mOps            = "sessionmigrate_store_operations_total"
)

// step is one stage of the walkthrough.
type step struct {
	name string
	run  func(ctx context.Context) error
}

func (r *runner) steps() []step {
	return []step{
		{"local", r.stepLocal},
		{"shadow", r.stepShadow},
		{"dual", r.stepDual},
		{"backfill", r.stepBackfill},
		{"ramp 10%", r.stepRamp(10, "first sessions read from Redis")},
		{"ramp 50%", r.stepRamp(50, "half the sessions read from Redis")},
		{r.opts.Fault.stepName(), r.stepFault},
		{"heal+resume", r.stepResume},
		{"ramp 100%", r.stepRamp(100, "every session read from Redis")},
		{"complete", r.stepComplete},
		{"no lock-in", r.stepNoLockIn},
	}
}

func (r *runner) stepLocal(ctx context.Context) error {
	r.beginStep()
	cur, err := r.ctl.State(ctx)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := r.awaitState(ctx, cur, time.Now()); err != nil {
		return err
	}
	r.appliedIn = 0 // nothing changed: the instances started here
	if err := r.hold(ctx, r.opts.StepDuration); err != nil {
		return err
	}
	keys, err := r.redisSessions(ctx)
	if err != nil {
		return err
	}
	hbs, err := r.ctl.Instances(ctx)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	r.notef("before the migration: %s sessions live in the instances' memory, %d session keys in Redis;",
		thousands(r.localSessions()), keys)
	r.notef("%d instances report to the control plane with heartbeats (what `migratectl instances` lists)", len(hbs))
	return nil
}

func (r *runner) stepShadow(ctx context.Context) error {
	r.beginStep()
	if err := r.move(ctx, control.StageShadow, 0, "start copying writes to Redis"); err != nil {
		return err
	}
	if err := r.hold(ctx, r.opts.StepDuration); err != nil {
		return err
	}
	d := r.metrics()
	keys, err := r.redisSessions(ctx)
	if err != nil {
		return err
	}
	r.notef("writes are copied to Redis off the request path: %s async writes, queue peak %d, %d dropped",
		thousands(d.of(mAsyncWrites, "result", "ok")), r.queuePeak, d.of(mAsyncDropped))
	r.notef("(a full queue drops and repairs later, never blocks a user). Redis now holds %s session keys:",
		thousands(keys))
	r.notef("the sessions written since shadow began; the %d idle ones are not there yet", idlePerInstance*len(r.insts))
	return nil
}

func (r *runner) stepDual(ctx context.Context) error {
	r.beginStep()
	if err := r.move(ctx, control.StageDual, 0, "write both stores"); err != nil {
		return err
	}
	if err := r.hold(ctx, r.opts.StepDuration); err != nil {
		return err
	}
	d := r.metrics()
	compared := d.of(mComparisons)
	confirmed := d.of(mMismatches)
	r.notef("every write goes to both stores on the request path; every read is compared with Redis off it:")
	r.notef("%s reads compared, %d confirmed mismatches, %d comparisons dropped (a full queue never blocks)",
		thousands(compared), confirmed, d.of(mCompareDropped))
	return nil
}

func (r *runner) stepBackfill(ctx context.Context) error {
	r.beginStep()
	keysBefore, err := r.redisSessions(ctx)
	if err != nil {
		return err
	}
	// Backfill is a job that runs where the local sessions are: inside
	// every instance. The demo plays the job runner.
	r.notef("backfill runs inside each instance, where the local sessions are, while users keep going:")
	var total migrate.BackfillProgress
	for _, in := range r.insts {
		p, err := in.m.Backfill(ctx, migrate.BackfillOptions{
			Progress: func(p migrate.BackfillProgress) {
				if p.Done {
					r.notef("backfill on %s: %d scanned, %d copied, %d skipped, %d failed in %s",
						in.id, p.Scanned, p.Copied, p.Skipped, p.Failed, latency(p.Elapsed))
				}
			},
		})
		if err != nil {
			return fmt.Errorf("demo: backfill on %s: %w", in.id, err)
		}
		total.Scanned += p.Scanned
		total.Copied += p.Copied
		total.Skipped += p.Skipped
		total.Failed += p.Failed
	}
	keysAfter, err := r.redisSessions(ctx)
	if err != nil {
		return err
	}
	if err := r.hold(ctx, r.opts.StepDuration); err != nil {
		return err
	}
	r.notef("%s sessions copied, among them the %d idle ones no request had touched since shadow began;",
		thousands(total.Copied), idlePerInstance*len(r.insts))
	r.notef("session keys in Redis: %s before, %s after", thousands(keysBefore), thousands(keysAfter))
	return nil
}

// stepRamp returns the step that raises the ramp to percent.
func (r *runner) stepRamp(percent float64, what string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		r.beginStep()
		if err := r.move(ctx, control.StageRamp, percent, what); err != nil {
			return err
		}
		if err := r.hold(ctx, r.opts.StepDuration); err != nil {
			return err
		}
		d := r.metrics()
		redisReads := d.of(mOps, "store", "distributed", "op", "get", "result", "ok")
		r.notef("%s: Redis answered %s reads, %d lazy copies, %d local fallbacks",
			what, thousands(redisReads), d.of(mLazyCopies, "result", "ok"), d.of(mFallbacks))
		if percent == 100 {
			r.notef("local is still written: the safety net that keeps any rollback lossless until complete")
		}
		return nil
	}
}

func (r *runner) stepResume(ctx context.Context) error {
	r.beginStep()
	for _, in := range r.insts {
		in.fault.Reset()
	}
	waiting := r.unsynced()
	start := time.Now()
	st, err := r.ctl.Resume(ctx, operator, "redis is healthy again")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := r.awaitState(ctx, st, start); err != nil {
		return err
	}
	if err := r.hold(ctx, r.opts.StepDuration); err != nil {
		return err
	}
	left := r.unsynced()
	r.notef("Redis healed; the operator resumed (migratectl resume): back to %s, guards re-armed.",
		describe(st.Stage, st.Percent, st.Epoch, false))
	if left == 0 {
		r.notef("all %d sessions whose writes Redis missed are repaired (by the repair loop or their next write)", waiting)
		return nil
	}
	r.notef("%d sessions had writes Redis missed: %d are repaired (by the repair loop or their next write),",
		waiting, max(waiting-left, 0))
	r.notef("%d wait for the repair loop, which backs off while Redis fails; local serves them meanwhile", left)
	return nil
}

func (r *runner) stepComplete(ctx context.Context) error {
	r.beginStep()
	backlog := r.unsynced()
	if err := r.flush(ctx); err != nil {
		return err
	}
	cur, err := r.ctl.State(ctx)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	res, err := r.diff(ctx)
	if err != nil {
		return err
	}
	res.Epoch, res.Stage, res.Percent, res.Actor = cur.Epoch, cur.Stage, cur.Percent, operator
	if err := r.ctl.SetLastDiff(ctx, res); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if !res.Clean {
		return fmt.Errorf("%w: the diff before complete found %d missing and %d mismatched sessions", ErrInvariant, res.Missing, res.Mismatched)
	}
	if err := r.move(ctx, control.StageComplete, 100, "diff clean"); err != nil {
		return err
	}
	if err := r.hold(ctx, r.opts.StepDuration); err != nil {
		return err
	}
	r.notef("repair backlog drained (%d sessions left to flush); a full diff then compared %s local sessions",
		backlog, thousands(res.Checked))
	r.notef("on %d instances with Redis: %d missing, %d different, so the control plane allows complete",
		res.Instances, res.Missing, res.Mismatched)
	r.notef("Redis now serves and stores every session; dual writes ended (leaving complete needs --force)")
	return nil
}

func (r *runner) stepNoLockIn(ctx context.Context) error {
	r.beginStep()
	res := r.load.Stop()
	r.lockIn = r.verifyNoLockIn(ctx, res)
	st, err := r.ctl.State(ctx)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	r.applied, r.appliedIn = describe(st.Stage, st.Percent, st.Epoch, st.Tripped()), 0
	l := r.lockIn
	r.notef("load stopped. Read back with plain GET and PEXPIRETIME, as the app would without this toolkit:")
	r.notef("%d/%d users' live sessions and %d/%d idle sessions hold the app's bytes and original expiry;",
		l.usersOK, l.users, l.idleOK, l.idle)
	r.notef("%d/%d sessions the users logged out or rotated away are absent", l.deadOK, l.dead)
	if l.example != "" {
		r.notef("e.g. GET %s<id> -> %s", l.prefix, l.example)
	}
	return nil
}

// unsynced sums the sessions whose Redis copy may be behind local.
func (r *runner) unsynced() int {
	n := 0
	for _, in := range r.insts {
		n += in.m.Unsynced()
	}
	return n
}

// flush drains every instance's async queue and repair backlog, as an
// operator waits for sessionmigrate_unsynced_sessions to reach zero.
func (r *runner) flush(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, applyTimeout)
	defer cancel()
	for _, in := range r.insts {
		if err := in.m.Flush(ctx); err != nil {
			return fmt.Errorf("demo: flushing %s: %w", in.id, err)
		}
	}
	return nil
}
