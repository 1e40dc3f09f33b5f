package migrate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// Defaults of JobRunnerOptions.
const (
	DefaultJobPoll    = time.Second
	DefaultJobTick    = 200 * time.Millisecond
	DefaultJobLeadTTL = 3 * time.Second
)

// JobRunnerOptions configures a JobRunner. Zero fields take the defaults.
type JobRunnerOptions struct {
	// Instance is this instance's id, exactly as its heartbeats report it
	// (the id jobs name their participants by). Required.
	Instance string
	// Poll is how often the control plane is asked for new jobs (default
	// DefaultJobPoll).
	Poll time.Duration
	// Tick is how often a running job's progress is written and its
	// cancel, participants and lead checked (default DefaultJobTick).
	Tick time.Duration
	// LeadTTL is how long the lead of a job lasts without renewal (default
	// DefaultJobLeadTTL): the delay before another participant takes over
	// from a leader that died.
	LeadTTL time.Duration
	// Logger receives job events; never a session id. Default: the
	// Migrator's.
	Logger *slog.Logger
}

// JobRunner runs this instance's part of the control plane's jobs
// (backfill, diff, repair) inside the Migrator, where the local sessions
// live: it polls the control plane for jobs naming this instance as a
// participant, runs each (one per kind at a time), reports progress and
// results as the job's part, and takes its turn leading a job (scanning the
// distributed store, ending the job). Create it with Migrator.StartJobs;
// Close stops it.
//
// Who calls whom: the runner's goroutines call the Migrator (Backfill,
// the consistency passes over its stores) and the control plane; nothing
// calls back into the runner.
type JobRunner struct {
	m    *Migrator
	ctl  *control.Client
	opts JobRunnerOptions
	log  *slog.Logger
	run  string // this process's run token

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	running map[string]bool // job ids being run
	seen    []string        // job ids run or skipped, newest last (bounded)
}

// StartJobs starts a JobRunner for this Migrator on the control plane ctl.
// The instance must publish heartbeats under opts.Instance (see
// HeartbeatCollector): jobs are run by the instances live at their request.
func (m *Migrator) StartJobs(ctl *control.Client, opts JobRunnerOptions) (*JobRunner, error) {
	if m.closed.Load() {
		return nil, ErrClosed
	}
	if ctl == nil || opts.Instance == "" {
		return nil, errors.New("migrate: start jobs: a control client and JobRunnerOptions.Instance are required")
	}
	if opts.Poll < 0 || opts.Tick < 0 || opts.LeadTTL < 0 {
		return nil, errors.New("migrate: start jobs: Poll, Tick and LeadTTL must not be negative")
	}
	if opts.Poll == 0 {
		opts.Poll = DefaultJobPoll
	}
	if opts.Tick == 0 {
		opts.Tick = DefaultJobTick
	}
	if opts.LeadTTL == 0 {
		opts.LeadTTL = DefaultJobLeadTTL
	}
	if opts.LeadTTL <= 2*opts.Tick {
		return nil, fmt.Errorf("migrate: start jobs: LeadTTL %s must exceed two ticks (%s)", opts.LeadTTL, opts.Tick)
	}
	if opts.Logger == nil {
		opts.Logger = m.opts.Logger
	}
	var tok [8]byte
	_, _ = rand.Read(tok[:])
	r := &JobRunner{m: m, ctl: ctl, opts: opts, run: hex.EncodeToString(tok[:]), running: map[string]bool{},
		log: opts.Logger.With("component", "sessionmigrate/jobs", "instance", opts.Instance)}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.wg.Go(r.poll)
	return r, nil
}

// Close stops polling and every job part this instance runs (their parts
// end where they are; a job this instance took part in then ends partial,
// as when an instance leaves), and waits for the goroutines. It is
// idempotent.
func (r *JobRunner) Close() error {
	r.cancel()
	r.wg.Wait()
	return nil
}

// poll looks for new jobs every Poll until Close.
func (r *JobRunner) poll() {
	t := time.NewTicker(r.opts.Poll)
	defer t.Stop()
	for {
		r.check()
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// check starts the active jobs this instance takes part in and has not run.
func (r *JobRunner) check() {
	ctx, cancel := context.WithTimeout(r.ctx, r.opts.Poll)
	defer cancel()
	ids, err := r.ctl.ActiveJobs(ctx)
	if err != nil {
		if r.ctx.Err() == nil {
			r.log.Warn("sessionmigrate: polling jobs", "error", err.Error())
		}
		return
	}
	for _, id := range ids {
		if id == "" || !r.claim(id) {
			continue
		}
		info, err := r.ctl.JobInfo(ctx, id)
		switch {
		case err != nil:
			r.log.Warn("sessionmigrate: reading job", "job", id, "error", err.Error())
			r.release(id, false)
			continue
		case info.End != nil:
			r.release(id, true)
			continue
		case !slices.Contains(info.Participants, r.opts.Instance):
			r.log.Info("sessionmigrate: job started before this instance; it takes no part", "job", id)
			r.release(id, true)
			continue
		}
		r.wg.Go(func() {
			defer r.release(id, true)
			r.runJob(info.Job)
		})
	}
}

// claim marks id as taken unless it is running or was handled.
func (r *JobRunner) claim(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running[id] || slices.Contains(r.seen, id) {
		return false
	}
	r.running[id] = true
	return true
}

// release unmarks id; handled remembers it so it is not run again.
func (r *JobRunner) release(id string, handled bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.running, id)
	if handled {
		r.seen = append(r.seen, id)
		if len(r.seen) > 64 {
			r.seen = r.seen[1:]
		}
	}
}

// runJob runs this instance's part of j and, alongside, its turn at
// leading j, until j ends or the runner closes.
func (r *JobRunner) runJob(j control.Job) {
	r.log.Info("sessionmigrate: job part starting", "job", j.ID, "kind", string(j.Kind), "reason", j.Reason)
	defer r.m.jobGauges.start(j.Kind)()
	// jobCtx lasts until the job ends; partCtx also ends on a cancel
	// request, which stops the part while the lead ends the job.
	jobCtx, ended := context.WithCancelCause(r.ctx)
	defer ended(nil)
	partCtx, stop := context.WithCancelCause(jobCtx)
	defer stop(nil)
	p := &part{r: r, job: j, p: control.Part{Instance: r.opts.Instance, Run: r.run, Phase: phaseRunning}}
	var wg sync.WaitGroup
	wg.Go(func() { r.watch(jobCtx, j.ID, ended, stop) })
	wg.Go(func() { r.lead(jobCtx, j) })
	first, err := r.ctl.JoinJob(partCtx, j.ID, r.opts.Instance, r.run)
	switch {
	case err != nil:
		p.finish(partCtx, phaseFailed, nil, err)
	case !first:
		// This process restarted mid-job: the local sessions the part
		// began with are gone. The lead ends the job partial.
		p.update(partCtx, func(cp *control.Part) {
			cp.Phase, cp.Error = phaseRestarted, "the instance restarted mid-job; its local sessions are not those its part began with"
		})
	case j.Kind == control.JobBackfill:
		r.backfillPart(partCtx, p)
	default:
		r.diffPart(partCtx, p)
	}
	// The part is over; leading and watching go on until the job ends.
	wg.Wait()
	r.log.Info("sessionmigrate: job part over", "job", j.ID, "phase", p.p.Phase)
}

// Part phases.
const (
	phaseRunning  = "running"
	phaseMembers  = "members"  // diff: local pass done, member hashes published
	phaseHeld     = "held"     // diff: answered which candidates it holds
	phaseDone     = "done"     // backfill: finished
	phaseCanceled = "canceled" // stopped by a cancel request
	phaseFailed   = "failed"
	// phaseRestarted: the instance restarted mid-job and dropped its part.
	phaseRestarted = "restarted"
)

// errJobEnded is the cause of a part stopped because its job ended.
var errJobEnded = errors.New("the job ended")

// errJobCanceled is the cause of a part stopped by a cancel request.
var errJobCanceled = errors.New("the job was canceled")

// watch ends jobCtx when the job ends, and stops the part on a cancel
// request.
func (r *JobRunner) watch(ctx context.Context, id string, ended, stop context.CancelCauseFunc) {
	t := time.NewTicker(r.opts.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		info, err := r.info(ctx, id)
		if err != nil {
			continue
		}
		if info.Cancel != nil {
			stop(errJobCanceled)
		}
		if info.End != nil {
			ended(errJobEnded)
			return
		}
	}
}

// info reads a job, bounded by a few ticks.
func (r *JobRunner) info(ctx context.Context, id string) (control.JobInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*r.opts.Tick)
	defer cancel()
	return r.ctl.JobInfo(ctx, id)
}
