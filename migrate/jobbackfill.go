package migrate

import (
	"context"
	"encoding/json"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// backfillPart runs Backfill as this instance's part of a backfill job.
// Its progress is the sessions scanned; its result the final
// BackfillProgress.
func (r *JobRunner) backfillPart(ctx context.Context, p *part) {
	total := r.m.localLen()
	p.progress(ctx, 0, total)
	prog, err := r.m.Backfill(ctx, BackfillOptions{
		Rate:          p.job.Params.Rate,
		BatchSize:     p.job.Params.Batch,
		ProgressEvery: 100, // part.progress writes at most once a tick
		Progress:      func(bp BackfillProgress) { p.progress(ctx, bp.Scanned, total) },
	})
	p.finishAt(ctx, phaseDone, prog.Scanned, prog, err)
}

// backfillLead leads a backfill job: it ends it once every part is done.
type backfillLead struct {
	r *JobRunner
	j control.Job
}

func (b *backfillLead) advance(_ context.Context, info control.JobInfo) (*control.JobEnd, error) {
	if !allAt(info, phaseDone) {
		return nil, nil
	}
	return &control.JobEnd{Status: control.JobDone, Result: b.result(info, ""),
		Message: "every participant copied its local sessions that were missing or older in the distributed store"}, nil
}

// result sums the parts' final progress (a part still running shows none).
func (b *backfillLead) result(info control.JobInfo, _ string) json.RawMessage {
	rep := BackfillReport{Instances: map[string]BackfillProgress{}}
	for _, p := range info.Parts {
		var bp BackfillProgress
		if len(p.Result) == 0 || json.Unmarshal(p.Result, &bp) != nil {
			bp = BackfillProgress{Scanned: p.Done}
		}
		rep.Instances[p.Instance] = bp
		rep.Total.Scanned += bp.Scanned
		rep.Total.Copied += bp.Copied
		rep.Total.Skipped += bp.Skipped
		rep.Total.Failed += bp.Failed
		rep.Total.Elapsed = max(rep.Total.Elapsed, bp.Elapsed)
	}
	rep.Total.Done = allAt(info, phaseDone)
	out, _ := json.Marshal(rep)
	return out
}

func (b *backfillLead) lastDiff(control.JobEnd) *control.DiffResult { return nil }

func (b *backfillLead) ended(context.Context, control.JobInfo, control.JobEnd) {}

// localLen returns the number of local sessions when the local store can
// count them (memstore's Len), else 0 (unknown).
func (m *Migrator) localLen() int64 {
	if l, ok := m.local.(interface{ Len() int }); ok {
		return int64(l.Len())
	}
	return 0
}
