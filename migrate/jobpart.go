package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// part is this instance's part of one job: what it writes to the control
// plane. Its methods are safe for concurrent use.
type part struct {
	r   *JobRunner
	job control.Job

	mu      sync.Mutex
	p       control.Part
	written time.Time // last progress write
}

// update edits the part and writes it. Writes are bounded by a few ticks
// and their failures only logged: the next write carries the same state.
func (p *part) update(ctx context.Context, edit func(*control.Part)) {
	p.mu.Lock()
	edit(&p.p)
	cp := p.p
	p.mu.Unlock()
	p.r.m.jobGauges.progress(p.job.Kind, cp.Done, cp.Total)
	// A part ending because its job ended or was canceled is still
	// recorded: write with the runner's context.
	wctx, cancel := context.WithTimeout(p.r.ctx, 5*p.r.opts.Tick)
	defer cancel()
	if err := p.r.ctl.PutPart(wctx, p.job.ID, cp); err != nil && p.r.ctx.Err() == nil {
		p.r.log.Warn("sessionmigrate: writing job part", "job", p.job.ID, "error", err.Error())
	}
}

// progress records done of total, at most once a tick.
func (p *part) progress(ctx context.Context, done, total int64) {
	p.mu.Lock()
	due := time.Since(p.written) >= p.r.opts.Tick
	if due {
		p.written = time.Now()
	}
	p.mu.Unlock()
	if due {
		p.update(ctx, func(cp *control.Part) { cp.Done, cp.Total = done, max(total, done) })
	}
}

// finish records the part's last phase and result, and the error that
// stopped it, if any: a cancel request or the job's end makes it
// "canceled", another error "failed".
func (p *part) finish(ctx context.Context, phase string, result any, err error) {
	p.finishAt(ctx, phase, -1, result, err)
}

// finishAt is finish that also records done (unless negative).
func (p *part) finishAt(ctx context.Context, phase string, done int64, result any, err error) {
	var b json.RawMessage
	if result != nil {
		b, _ = json.Marshal(result)
	}
	cause := context.Cause(ctx)
	switch {
	case err == nil:
	case errors.Is(cause, errJobCanceled), errors.Is(cause, errJobEnded):
		phase, err = phaseCanceled, nil
	case p.r.ctx.Err() != nil:
		return // closing: the instance leaves; the lead says so
	default:
		phase = phaseFailed
	}
	p.update(ctx, func(cp *control.Part) {
		cp.Phase, cp.Result = phase, b
		if done >= 0 {
			cp.Done, cp.Total = done, max(cp.Total, done)
		}
		if err != nil {
			cp.Error = err.Error()
		}
	})
}

// waitPhase waits until the job's phase is phase (true) or ctx ends
// (false), polling every tick.
func (r *JobRunner) waitPhase(ctx context.Context, id, phase string) bool {
	t := time.NewTicker(r.opts.Tick)
	defer t.Stop()
	for {
		if info, err := r.info(ctx, id); err == nil && info.Phase == phase {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}
