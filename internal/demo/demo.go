package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/internal/vuser"
	"github.com/sessionmigrate/sessionmigrate/migrate"
	"github.com/sessionmigrate/sessionmigrate/migrate/control"
	"github.com/sessionmigrate/sessionmigrate/migrate/guard"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// Fixed shape of the demo.
const (
	// idlePerInstance is how many sessions each instance holds before the
	// migration begins and no user touches during it: only backfill (or a
	// lazy copy) brings them to Redis.
	idlePerInstance = 200
	// think is the mean pause between two operations of one virtual user.
	think = 3 * time.Millisecond
	// maxUserRequests bounds each user's requests.
	maxUserRequests = 1_000_000
	// requestTimeout bounds one user operation, as an HTTP server's
	// handler timeout would.
	requestTimeout = 2 * time.Second
	// applyTimeout bounds the wait for every instance to apply a change.
	applyTimeout = 5 * time.Second
	// operator is the actor the demo's control-plane changes are recorded
	// under, as migratectl records user@host.
	operator = "operator@demo"
	// sampleEvery is how often queue depths are sampled during a step.
	sampleEvery = 10 * time.Millisecond
)

// ErrInvariant is wrapped by Run's error when a user saw a failed request,
// a logout, a lost write or a resurrected session, or when the final check
// found a session Redis does not hold as the application wrote it.
var ErrInvariant = errors.New("demo: the migration broke a promise")

// Run plays a whole zero-downtime migration and narrates it on w: it starts
// Redis (a real redis-server on a free loopback port when one is installed,
// else an embedded miniredis if that can run the session store), starts
// opts.Instances application instances with virtual users, and then, as an
// operator with migratectl would through the control plane, moves the
// sessions from local to shadow, dual (with a backfill), ramp 10% and 50%,
// breaks Redis (opts.Fault: an outage, or calls slower than the request
// timeout) so that every instance's guard rolls back on its own,
// heals and resumes, ramps to 100%, diffs and completes, and finally reads
// every live session back from Redis with a plain GET.
//
// It prints one line per step and a summary table, and returns nil only when
// every promise held: no failed request, no logout, no lost write, no
// resurrected session, and every live session in Redis exactly as written.
// Otherwise the error wraps ErrInvariant (a broken promise), ErrNoRedis (no
// usable Redis) or says what went wrong. Session ids never appear in the
// output. Run stops early, cleaning up, when ctx ends. Everything it starts
// is stopped before it returns.
func Run(ctx context.Context, w io.Writer, opts Options) (err error) {
	opts, err = opts.withDefaults()
	if err != nil {
		return err
	}
	r := &runner{opts: opts, p: &printer{w: w}, start: time.Now()}
	defer func() {
		if err == nil && r.p.err != nil {
			err = fmt.Errorf("demo: writing output: %w", r.p.err)
		}
	}()
	r.p.printf("sessionmigrate demo: moving live web sessions from process memory to Redis with zero downtime\n\n")

	b, err := startBackend(ctx, opts, r.p.printf)
	if err != nil {
		return err
	}
	if !b.real && opts.Fault == FaultLatency {
		b.close()
		return fmt.Errorf("demo: the latency fault needs a real redis-server: the embedded miniredis is itself too slow to tell a slow Redis apart (%s)", installHint)
	}
	defer func() { err = errors.Join(err, b.Close()) }()
	r.p.printf("  redis      %s\n", b.name)

	r.oprdb = b.client()
	defer func() { err = errors.Join(err, r.oprdb.Close()) }()
	if r.ctl, err = control.New(r.oprdb, control.Options{Logger: opts.Logger}); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	for i := range opts.Instances {
		in, err := startInstance(ctx, b, i+1, opts.Logger)
		if err != nil {
			return errors.Join(err, r.closeInstances())
		}
		r.insts = append(r.insts, in)
	}
	defer func() { err = errors.Join(err, r.closeInstances()) }()
	r.p.printf("  app        %d instances in this process; each: memstore (local) + redisstore (Redis, own client)\n", len(r.insts))
	r.p.printf("             behind a Migrator following the control plane (OpenFeature); guard and heartbeats on\n")

	if err := r.seedIdle(ctx); err != nil {
		return err
	}
	if r.load, err = r.startLoad(ctx); err != nil {
		return err
	}
	defer r.load.Stop()
	r.p.printf("  users      %d sticky virtual users per instance: log in, read, increment a counter,\n", opts.Users)
	r.p.printf("             rotate the session id, log out\n")
	r.p.printf("  sessions   %d per instance exist before the migration and stay idle; ids are never printed\n\n", idlePerInstance)
	r.p.legend()
	r.p.stepHeader(len(r.insts))

	for _, s := range r.steps() {
		r.step = s.name
		if err := s.run(ctx); err != nil {
			return err
		}
		r.finishStep(s.name)
	}
	return r.conclude()
}

// runner holds what the steps share.
type runner struct {
	opts  Options
	p     *printer
	oprdb *redis.Client
	ctl   *control.Client // the operator's client, as migratectl's
	insts []*instance
	load  *vuser.Load
	idle  [][]idleSession // per instance
	start time.Time

	// per step
	step      string // its name
	n         int
	stepStart time.Time
	prev      vuser.Result
	rows      []summaryRow
	applied   string        // the state every instance applied, for the step line
	appliedIn time.Duration // how long applying it took (0: not a change)
	notes     []string
	before    metricSet
	queuePeak int
	lockIn    lockInResult
}

// idleSession is a session created before the migration; ID is a
// credential.
type idleSession struct {
	ID      string
	Data    []byte
	Expires time.Time
}

// startLoad starts opts.Users sticky virtual users per instance, each
// using its instance's Migrator directly, as the instance's request
// handlers would.
func (r *runner) startLoad(ctx context.Context) (*vuser.Load, error) {
	stores := make([]store.Store, len(r.insts))
	for i, in := range r.insts {
		stores[i] = in.m
	}
	pool, err := vuser.NewPool(len(stores), vuser.Sticky)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	l, err := vuser.Start(ctx, vuser.Config{
		App:            vuser.StoreApp{Stores: stores, Lifetime: sessionLifetime},
		Balancer:       pool,
		Users:          r.opts.Users * len(stores),
		Think:          think,
		MaxRequests:    maxUserRequests,
		MaxDuration:    20*r.opts.StepDuration + time.Minute,
		RequestTimeout: requestTimeout,
		Seed:           r.opts.Seed,
	})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return l, nil
}

func (r *runner) closeInstances() error {
	var errs []error
	for _, in := range slices.Backward(r.insts) {
		errs = append(errs, in.Close())
	}
	r.insts = nil
	return errors.Join(errs...)
}

// seedIdle gives every instance its sessions from before the migration,
// written through the Migrator at stage local: process memory only.
func (r *runner) seedIdle(ctx context.Context) error {
	exp := expiryFrom(time.Now())
	r.idle = make([][]idleSession, len(r.insts))
	for i, in := range r.insts {
		for j := range idlePerInstance {
			s := idleSession{ID: vuser.NewID(), Data: vuser.EncodeSession(fmt.Sprintf("idle-%d.%d", i+1, j+1), int64(j%7)), Expires: exp}
			if err := in.m.Set(ctx, s.ID, store.Record{Data: s.Data, ExpiresAt: s.Expires}); err != nil {
				return fmt.Errorf("demo: creating the existing sessions: %w", err)
			}
			r.idle[i] = append(r.idle[i], s)
		}
	}
	return nil
}

// beginStep starts the counters of a step.
func (r *runner) beginStep() {
	r.n++
	r.stepStart = time.Now()
	r.before = gather(r.insts)
	r.notes = nil
	r.appliedIn = 0
	r.queuePeak = 0
	r.load.TakePeak()
}

// notef adds a line of explanation to the current step.
func (r *runner) notef(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// finishStep prints the step line and its notes and records the summary row.
func (r *runner) finishStep(name string) {
	t := r.load.Snapshot()
	r.p.stepRow(r.n, name, r.applied, r.appliedIn, t)
	for _, n := range r.notes {
		r.p.note("%s", n)
	}
	r.rows = append(r.rows, summaryRow{name: name, took: time.Since(r.stepStart), t: t.Sub(r.prev), maxLatency: r.load.TakePeak()})
	r.prev = t
}

// metrics returns the change of the Migrators' metrics since the step began.
func (r *runner) metrics() delta { return delta{before: r.before, after: gather(r.insts)} }

// hold lets the load run for d, sampling the async queues.
func (r *runner) hold(ctx context.Context, d time.Duration) error {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	for {
		q := 0
		for _, in := range r.insts {
			q += in.m.Status().QueueDepth
		}
		r.queuePeak = max(r.queuePeak, q)
		select {
		case <-ctx.Done():
			return fmt.Errorf("demo: %w", ctx.Err())
		case <-deadline.C:
			return nil
		case <-tick.C:
		}
	}
}

// waitAll polls until every instance's state satisfies ok, and returns how
// long that took; the error names an instance that did not get there.
func (r *runner) waitAll(ctx context.Context, what string, ok func(migrate.State) bool) (time.Duration, error) {
	start := time.Now()
	deadline := start.Add(applyTimeout)
	for {
		var behind *instance
		for _, in := range r.insts {
			if !ok(in.m.State()) {
				behind = in
				break
			}
		}
		if behind == nil {
			return time.Since(start), nil
		}
		if time.Now().After(deadline) {
			st := behind.m.State()
			return 0, fmt.Errorf("demo: %s did not reach %s within %v: it is at %s (flag error: %q)",
				behind.id, what, applyTimeout, describe(string(st.Stage), st.Percent, st.Epoch, st.Tripped), st.FlagError)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("demo: waiting for %s: %w", what, ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// move changes the migration state as `migratectl stage|ramp` does: stage
// order checked by the control plane's rules, then a compare-and-set
// against the epoch read. It waits until every instance applied the change
// and sets the step's APPLIED column.
func (r *runner) move(ctx context.Context, stage string, percent float64, reason string) error {
	cur, err := r.ctl.State(ctx)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := r.ctl.CheckTransition(ctx, cur, stage, percent, false); err != nil {
		if trip := r.unexpectedTrip(); trip != nil {
			return trip // "resume first" means nothing to someone watching a demo
		}
		return fmt.Errorf("demo: %w", err)
	}
	next := cur
	next.Stage, next.Percent, next.Actor, next.Reason = stage, percent, operator, reason
	start := time.Now()
	written, err := r.ctl.Update(ctx, cur.Epoch, next)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return r.awaitState(ctx, written, start)
}

// awaitState waits until every instance applied s, written at start, and
// records it for the step line.
func (r *runner) awaitState(ctx context.Context, s control.State, start time.Time) error {
	want := describe(s.Stage, s.Percent, s.Epoch, s.Tripped())
	if _, err := r.waitAll(ctx, want, func(st migrate.State) bool {
		return st.Epoch >= s.Epoch && string(st.Stage) == s.Stage && st.Percent == s.Percent && !st.Tripped
	}); err != nil {
		if trip := r.unexpectedTrip(); trip != nil {
			return trip
		}
		return err
	}
	r.applied, r.appliedIn = want, time.Since(start)
	return nil
}

// unexpectedTrip explains a guard that rolled the migration back in a step
// that did not break Redis, in words for someone watching a demo, and
// prints the explanation; nil when no instance's guard is tripped.
func (r *runner) unexpectedTrip() error {
	var who *instance
	var ev guard.Evidence
	for _, in := range r.insts {
		g := in.m.Guard()
		if g == nil || !in.m.State().Tripped {
			continue
		}
		if e, ok := g.LastTrip(); ok && (who == nil || e.At.Before(ev.At)) {
			who, ev = in, e
		}
	}
	if who == nil {
		return nil
	}
	why := tripCause(ev, who.m.Guard().Settings())
	r.p.printf("\n  FAIL: during step %q the guard of %s rolled the migration back on its own:\n", r.step, who.id)
	r.p.printf("        %s.\n", why)
	r.p.printf("        Nothing in this step broke Redis on purpose. Redis runs on this machine with the demo,\n")
	r.p.printf("        so a machine too busy to give it the CPU in time makes a slow Redis.\n")
	r.p.printf("        Run the demo again when the machine is quieter, e.g. with other heavy programs closed.\n")
	return fmt.Errorf("demo: during step %q the guard of %s rolled the migration back: %s; "+
		"on a busy machine run the demo again", r.step, who.id, why)
}

// redisSessions counts the session keys in Redis (not sidecars, not the
// control plane's keys).
func (r *runner) redisSessions(ctx context.Context) (int, error) {
	n := 0
	iter := r.oprdb.Scan(ctx, 0, redisstore.DefaultPrefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		n++
	}
	if err := iter.Err(); err != nil {
		return 0, fmt.Errorf("demo: counting session keys: %w", err)
	}
	return n, nil
}

// localSessions counts the live sessions in every instance's memory.
func (r *runner) localSessions() int {
	n := 0
	for _, in := range r.insts {
		n += in.local.Len()
	}
	return n
}

// conclude prints the summary and checks every counter.
func (r *runner) conclude() error { return r.judge(r.load.Stop()) }

// judge prints the summary of the load's total and checks every counter.
func (r *runner) judge(total vuser.Result) error {
	r.p.summary(r.rows, total, time.Since(r.start))
	var broken []string
	for _, c := range []struct {
		n    uint64
		what string
	}{
		{total.Failed + total.Anomalies, "failed requests"}, {total.Logouts, "users logged out"},
		{total.LostWrites, "lost writes"}, {total.Resurrections, "resurrected sessions"},
		{uint64(r.lockIn.bad()), "sessions not in Redis as written"},
	} {
		if c.n > 0 {
			broken = append(broken, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	if len(broken) == 0 {
		r.p.printf("\n  PASS: no request failed, nobody was logged out, no write was lost, no ended session came back,\n")
		r.p.printf("        and every live session is in Redis exactly as the application wrote it.\n")
		return nil
	}
	r.p.printf("\n  FAIL: %s\n", strings.Join(broken, ", "))
	for _, p := range append(total.Problems, r.lockIn.problems...) {
		r.p.printf("    %s\n", p)
	}
	return fmt.Errorf("%w: %s", ErrInvariant, strings.Join(broken, ", "))
}
