package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// flow is what leading a job of one kind means.
type flow interface {
	// advance moves the job on, given how it stands; it may run long steps
	// (a scan) bounded by ctx, which ends when the job must stop. It
	// returns the job's end once the kind's work is over, nil otherwise.
	advance(ctx context.Context, info control.JobInfo) (*control.JobEnd, error)
	// result is the job's result from what the parts and the flow hold,
	// for an end the flow did not reach itself (a participant left, a
	// cancel, a failure); why says what happened.
	result(info control.JobInfo, why string) json.RawMessage
	// lastDiff is what end makes the control plane's last diff (written
	// atomically with the end), or nil for a kind that is no diff.
	lastDiff(end control.JobEnd) *control.DiffResult
	// ended runs once this leader has ended the job with end.
	ended(ctx context.Context, info control.JobInfo, end control.JobEnd)
}

// errLostLead stops a leader that failed to renew its lead.
var errLostLead = errors.New("lost the lead")

// lead takes its turn at leading job j: every tick it tries to claim the
// lead, and while it holds it, it drives the job, until the job ends or ctx
// does.
func (r *JobRunner) lead(ctx context.Context, j control.Job) {
	t := time.NewTicker(r.opts.Tick)
	defer t.Stop()
	for {
		if leads, err := r.claimLead(ctx, j.ID); err == nil && leads {
			r.log.Info("sessionmigrate: leading job", "job", j.ID)
			if r.drive(ctx, j) {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// claimLead claims or renews the lead of job id, bounded by a few ticks.
func (r *JobRunner) claimLead(ctx context.Context, id string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*r.opts.Tick)
	defer cancel()
	return r.ctl.ClaimLead(ctx, id, r.opts.Instance, r.opts.LeadTTL)
}

// drive leads job j until it ends (true) or the lead is lost (false).
func (r *JobRunner) drive(ctx context.Context, j control.Job) bool {
	var f flow
	switch j.Kind {
	case control.JobBackfill:
		f = &backfillLead{r: r, j: j}
	default:
		f = newDiffLead(r, j)
	}
	leadCtx, lost := context.WithCancelCause(ctx)
	defer lost(nil)
	g := &guardian{r: r, missing: map[string]time.Time{}}
	// stepCtx bounds the flow's long steps (a scan): the keeper stops it as
	// soon as the job must end, and the loop below ends the job.
	stepCtx, stopStep := context.WithCancelCause(leadCtx)
	defer stopStep(nil)
	keeperDone := make(chan struct{})
	go func() {
		defer close(keeperDone)
		r.keep(leadCtx, j, lost, func(st standing) {
			if v := g.judge(st.info, st.live); v != nil {
				stopStep(errors.New(v.why))
			}
		})
	}()
	defer func() { lost(nil); <-keeperDone }()

	t := time.NewTicker(r.opts.Tick)
	defer t.Stop()
	for {
		if leadCtx.Err() != nil {
			return ctx.Err() != nil // lost the lead: another may take it
		}
		if st, err := r.standing(leadCtx, j.ID); err == nil {
			if st.info.End != nil {
				return true
			}
			var end *control.JobEnd
			if v := g.judge(st.info, st.live); v != nil {
				end = v.end(st.info, f, r.opts.Tick) // nil while a cancel's grace runs
			} else {
				end, err = f.advance(stepCtx, st.info)
				if err != nil && stepCtx.Err() == nil {
					end = &control.JobEnd{Status: control.JobFailed, Message: err.Error(), Result: f.result(st.info, err.Error())}
				}
			}
			if end != nil {
				r.endJob(leadCtx, st.info, *end, f)
				return true
			}
		}
		select {
		case <-leadCtx.Done():
		case <-t.C:
		}
	}
}

// standing is a job and the instances live when it was read.
type standing struct {
	info control.JobInfo
	live map[string]bool
}

// keep renews the lead every tick, losing it (lost) when renewal is
// refused, and hands the job's standing to check.
func (r *JobRunner) keep(ctx context.Context, j control.Job, lost context.CancelCauseFunc, check func(standing)) {
	t := time.NewTicker(r.opts.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if leads, err := r.claimLead(ctx, j.ID); err == nil && !leads {
			lost(errLostLead)
			return
		}
		if st, err := r.standing(ctx, j.ID); err == nil {
			check(st)
		}
	}
}

// standing reads the job and the live instances.
func (r *JobRunner) standing(ctx context.Context, id string) (standing, error) {
	info, err := r.info(ctx, id)
	if err != nil {
		return standing{}, err
	}
	cctx, cancel := context.WithTimeout(ctx, 5*r.opts.Tick)
	defer cancel()
	hbs, err := r.ctl.Instances(cctx)
	if err != nil {
		return standing{}, err
	}
	live := make(map[string]bool, len(hbs))
	for _, hb := range hbs {
		live[hb.InstanceID] = true
	}
	return standing{info: info, live: live}, nil
}

// endJob writes end (the first end wins) and, if it won, lets the flow
// finish.
func (r *JobRunner) endJob(ctx context.Context, info control.JobInfo, end control.JobEnd, f flow) {
	end.By = r.opts.Instance
	cctx, cancel := context.WithTimeout(ctx, 10*r.opts.Tick)
	defer cancel()
	won, err := r.ctl.EndJob(cctx, info.ID, end, f.lastDiff(end))
	if err != nil {
		r.log.Warn("sessionmigrate: ending job", "job", info.ID, "error", err.Error())
		return
	}
	if won {
		r.log.Info("sessionmigrate: job ended", "job", info.ID, "status", string(end.Status), "message", end.Message)
		f.ended(cctx, info, end)
	}
}

// guardian tells when a job must end before its work is over. Its
// verdict, once reached, stands: a participant that comes back has missed
// part of the job all the same. Its methods are safe for concurrent use
// (the keeper and the leader's loop).
type guardian struct {
	r *JobRunner

	mu      sync.Mutex
	missing map[string]time.Time // participant -> first seen without a heartbeat
	verdict *verdict
}

// verdict is why a job must end early.
type verdict struct {
	status control.JobStatus // JobCanceled, JobFailed or JobPartial
	why    string
	left   []string
	at     time.Time // when it was reached
}

// judge returns the verdict on the job as it stands, or nil while it may
// go on. A cancel request, a failed part, or a participant gone (see gone)
// make one.
func (g *guardian) judge(info control.JobInfo, live map[string]bool) *verdict {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.verdict != nil {
		return g.verdict
	}
	var v *verdict
	var left, notes []string
	for _, p := range info.Parts {
		if p.Phase == phaseFailed && v == nil {
			v = &verdict{status: control.JobFailed, why: fmt.Sprintf("instance %s failed: %s", p.Instance, p.Error)}
		}
		if gone, how := g.gone(p, live); gone {
			left = append(left, p.Instance)
			notes = append(notes, fmt.Sprintf("%s left mid-job (%s) %s", p.Instance, how, partDone(p)))
		}
	}
	switch {
	case info.Cancel != nil:
		v = &verdict{status: control.JobCanceled,
			why: fmt.Sprintf("canceled by %s: %s; the result covers what was done before", info.Cancel.Actor, info.Cancel.Reason)}
	case v != nil:
	case len(left) > 0:
		v = &verdict{status: control.JobPartial, left: left, why: strings.Join(notes, "; ") + "; the job ended with what the others did"}
	default:
		return nil
	}
	v.at = time.Now()
	g.verdict = v
	return v
}

// gone reports whether participant p has left, and how: it restarted
// (control.Client.JoinJob told it so), or it has had no heartbeat for
// LeadTTL (a heartbeat late under load is not a departure). g.mu must be
// held.
func (g *guardian) gone(p control.Part, live map[string]bool) (bool, string) {
	if p.Phase == phaseRestarted {
		return true, "it restarted"
	}
	if live[p.Instance] {
		delete(g.missing, p.Instance)
		return false, ""
	}
	since, ok := g.missing[p.Instance]
	if !ok {
		g.missing[p.Instance] = time.Now()
		return false, ""
	}
	return time.Since(since) >= g.r.opts.LeadTTL, "its heartbeat expired"
}

// end is the job's end for verdict v, with the result as info shows it;
// nil while the parts of a canceled job may still record where they
// stopped (up to ten ticks).
func (v *verdict) end(info control.JobInfo, f flow, tick time.Duration) *control.JobEnd {
	if v.status == control.JobCanceled && time.Since(v.at) < 10*tick &&
		slices.ContainsFunc(info.Parts, func(p control.Part) bool { return p.Phase == phaseRunning }) {
		return nil
	}
	return &control.JobEnd{Status: v.status, Message: v.why, Left: v.left, Result: f.result(info, v.why)}
}

// partDone says how far a part got, for messages.
func partDone(p control.Part) string {
	switch {
	case p.Phase == "":
		return "before starting its part"
	case p.Total > 0:
		return fmt.Sprintf("at %s, %d of %d sessions done", p.Phase, p.Done, p.Total)
	}
	return fmt.Sprintf("at %s, %d sessions done", p.Phase, p.Done)
}

// allAt reports whether every part is at one of phases.
func allAt(info control.JobInfo, phases ...string) bool {
	for _, p := range info.Parts {
		if !slices.Contains(phases, p.Phase) {
			return false
		}
	}
	return true
}
