package migrate

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/sessionmigrate/sessionmigrate/consistency"
	"github.com/sessionmigrate/sessionmigrate/migrate/control"
	"github.com/sessionmigrate/sessionmigrate/router"
)

// Job-wide phases of a diff or repair, set by the leading instance.
const (
	jobPhaseScan = "scan" // scanning the distributed store for extras
	jobPhaseHeld = "held" // participants: say which candidates you hold
)

// Blob names of a diff or repair.
const (
	blobCandidates = "candidates"
	blobMembers    = "members:" // + instance
	blobHeld       = "held:"    // + instance
	blobDeleted    = "deleted:" // + instance: the candidates it holds a tombstone of
)

// diffPartResult is one participant's result: its local pass and, in a
// repair, what it repaired.
type diffPartResult struct {
	Pass   consistency.PassResult    `json:"pass"`
	Repair *consistency.RepairResult `json:"repair,omitempty"`
}

// diffConfig returns the diff passes' configuration for job j on this
// instance.
func (r *JobRunner) diffConfig(j control.Job) consistency.DiffConfig {
	return consistency.DiffConfig{
		Local:       r.m.local,
		Distributed: r.m.dist,
		Compare:     r.m.opts.Comparator,
		Batch:       j.Params.Batch,
		Rate:        j.Params.Rate,
		Samples:     j.Params.Samples,
		Delay:       r.m.opts.CompareDelay,
		RedactKey:   r.m.opts.Salt,
		MemberKey:   j.MemberKey,
		Instance:    r.opts.Instance,
		InFlight:    r.m.core.IsUnsynced,
		// Progress goes to the control plane about once a tick.
		ProgressEvery: r.opts.Tick,
	}
}

// repairer returns the repairer of a repair job, or nil for a diff.
func (r *JobRunner) repairer(j control.Job) (*consistency.Repairer, error) {
	if j.Kind != control.JobRepair {
		return nil, nil
	}
	kinds := make([]consistency.Kind, len(j.Params.Kinds))
	for i, k := range j.Params.Kinds {
		kinds[i] = consistency.Kind(k)
	}
	return consistency.NewRepairer(consistency.RepairConfig{
		Distributed: r.m.dist, Kinds: kinds, Copyable: router.Copyable, Batch: j.Params.Batch,
		// A failed repair's outcome is unknown: the online repair makes sure.
		OnFailed: r.m.core.MarkUnsynced,
	})
}

// diffPart is this instance's part of a diff or repair: its local pass
// (repairing what it confirms, in a repair), its member hashes for the
// leader's scan, then its answer about the scan's candidates.
func (r *JobRunner) diffPart(ctx context.Context, p *part) {
	j := p.job
	rep, err := r.repairer(j)
	if err != nil {
		p.finish(ctx, phaseFailed, nil, err)
		return
	}
	total := r.m.localLen()
	p.progress(ctx, 0, total)
	cfg := r.diffConfig(j)
	cfg.Progress = func(pr consistency.Progress) { p.progress(ctx, pr.Scanned, total) }
	if rep != nil {
		cfg.OnMismatch = func(mm consistency.Mismatch) { rep.Add(ctx, mm) }
	}
	pass, err := consistency.LocalPass(ctx, cfg)
	res := diffPartResult{Pass: pass}
	if rep != nil {
		rr, ferr := rep.Flush(ctx)
		res.Repair = &rr
		if err == nil && ferr != nil {
			r.log.Warn("sessionmigrate: some repairs failed; the online repair retries them", "job", j.ID, "failed", rr.Failed)
		}
	}
	if err != nil {
		p.finishAt(ctx, phaseRunning, pass.Checked+pass.Skipped, res, err)
		return
	}
	if j.Kind == control.JobDiff {
		r.m.setLastDiff(j.ID, pass)
	}
	if err := r.ctl.PutBlob(ctx, j.ID, blobMembers+r.opts.Instance, pass.Members.AppendBinary(nil)); err != nil {
		p.finish(ctx, phaseRunning, res, err)
		return
	}
	p.finishAt(ctx, phaseMembers, pass.Checked+pass.Skipped, res, nil)
	if !r.waitPhase(ctx, j.ID, jobPhaseHeld) {
		return
	}
	b, _, err := r.ctl.Blob(ctx, j.ID, blobCandidates)
	var held, deleted *consistency.Members
	if err == nil {
		var asked *consistency.Members
		if asked, err = consistency.DecodeMembers(b); err == nil {
			held, deleted, err = consistency.Held(ctx, r.m.local, j.MemberKey, asked)
		}
	}
	if err == nil {
		err = r.ctl.PutBlob(ctx, j.ID, blobDeleted+r.opts.Instance, deleted.AppendBinary(nil))
	}
	if err == nil {
		err = r.ctl.PutBlob(ctx, j.ID, blobHeld+r.opts.Instance, held.AppendBinary(nil))
	}
	if err != nil {
		p.finish(ctx, phaseMembers, res, fmt.Errorf("answering the extras scan: %w", err))
		return
	}
	p.finish(ctx, phaseHeld, res, nil)
}

// setLastDiff keeps this instance's part of diff job for its heartbeats.
func (m *Migrator) setLastDiff(job string, pass consistency.PassResult) {
	d := &control.InstanceDiff{Job: job, At: m.opts.Now(), Checked: pass.Checked, InDistributed: pass.InDistributed,
		Mismatches: map[string]int64{}}
	for _, k := range consistency.Kinds {
		d.Mismatches[string(k)] = pass.Mismatches.Get(k)
	}
	m.lastDiff.Store(d)
}

// diffLead leads a diff or repair: once every participant has compared
// its local sessions, it scans the distributed store once for sessions
// none holds, asks the participants about the candidates, confirms (and in
// a repair tombstones) the rest, and ends the job with the report.
type diffLead struct {
	r   *JobRunner
	j   control.Job
	cfg consistency.DiffConfig

	mu      sync.Mutex
	scanned *consistency.ExtrasScan
	extras  *consistency.PassResult
	rep     *consistency.Repairer // extras' repairs, in a repair
	repErr  error
}

func newDiffLead(r *JobRunner, j control.Job) *diffLead {
	d := &diffLead{r: r, j: j, cfg: r.diffConfig(j)}
	d.cfg.Instance = ""
	d.rep, d.repErr = r.repairer(j)
	return d
}

func (d *diffLead) advance(ctx context.Context, info control.JobInfo) (*control.JobEnd, error) {
	if d.repErr != nil {
		return nil, d.repErr
	}
	switch {
	case info.Phase == "" && allAt(info, phaseMembers, phaseHeld):
		return d.scan(ctx, info)
	case info.Phase == jobPhaseHeld && allAt(info, phaseHeld):
		return d.confirm(ctx, info)
	case info.Phase == jobPhaseScan:
		// A leader before this one died scanning: scan again.
		return d.scan(ctx, info)
	}
	return nil, nil
}

// scan lists the distributed store once and keeps the sessions no
// participant's member hashes contain.
func (d *diffLead) scan(ctx context.Context, info control.JobInfo) (*control.JobEnd, error) {
	if err := d.r.ctl.SetJobPhase(ctx, d.j.ID, jobPhaseScan); err != nil {
		return nil, err
	}
	var sets []*consistency.Members
	for _, p := range info.Parts {
		b, found, err := d.r.ctl.Blob(ctx, d.j.ID, blobMembers+p.Instance)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("the member hashes of %s are missing", p.Instance)
		}
		m, err := consistency.DecodeMembers(b)
		if err != nil {
			return nil, fmt.Errorf("the member hashes of %s: %w", p.Instance, err)
		}
		sets = append(sets, m)
	}
	cfg := d.cfg
	scanPart := control.Part{Instance: d.r.opts.Instance, Phase: jobPhaseScan}
	cfg.Progress = func(pr consistency.Progress) {
		scanPart.Done = pr.Scanned
		_ = d.r.ctl.PutScan(ctx, d.j.ID, scanPart)
	}
	sc, err := consistency.ScanExtras(ctx, cfg, consistency.Union(sets...))
	if err != nil {
		return nil, err
	}
	scanPart.Done, scanPart.Phase = sc.Scanned, "scanned"
	_ = d.r.ctl.PutScan(ctx, d.j.ID, scanPart)
	d.mu.Lock()
	d.scanned = &sc
	d.mu.Unlock()
	if len(sc.Candidates) == 0 {
		return d.finish(info)
	}
	cands := consistency.CandidateHashes(d.j.MemberKey, sc.Candidates)
	if err := d.r.ctl.PutBlob(ctx, d.j.ID, blobCandidates, cands.AppendBinary(nil)); err != nil {
		return nil, err
	}
	return nil, d.r.ctl.SetJobPhase(ctx, d.j.ID, jobPhaseHeld)
}

// confirm re-reads the candidates no participant holds and confirms the
// extras (tombstoning them in a repair).
func (d *diffLead) confirm(ctx context.Context, info control.JobInfo) (*control.JobEnd, error) {
	d.mu.Lock()
	sc := d.scanned
	d.mu.Unlock()
	if sc == nil {
		// The lead changed after the scan (the leader before lost its
		// lease while alive): its candidates are gone with it.
		why := "the lead changed between the scan for extras and its confirmation; diff again"
		return &control.JobEnd{Status: control.JobFailed, Message: why, Result: d.result(info, why)}, nil
	}
	var sets, deleted []*consistency.Members
	for _, p := range info.Parts {
		for _, blob := range []struct {
			name string
			into *[]*consistency.Members
		}{{blobHeld, &sets}, {blobDeleted, &deleted}} {
			b, found, err := d.r.ctl.Blob(ctx, d.j.ID, blob.name+p.Instance)
			if err != nil || !found {
				return nil, fmt.Errorf("the answer of %s is missing (%v)", p.Instance, err)
			}
			m, err := consistency.DecodeMembers(b)
			if err != nil {
				return nil, fmt.Errorf("the answer of %s: %w", p.Instance, err)
			}
			*blob.into = append(*blob.into, m)
		}
	}
	cfg := d.cfg
	if d.rep != nil {
		cfg.OnMismatch = func(mm consistency.Mismatch) { d.rep.Add(ctx, mm) }
	}
	ex, err := consistency.ConfirmExtras(ctx, cfg, sc.Candidates, consistency.Union(sets...), consistency.Union(deleted...))
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.extras = &ex
	d.mu.Unlock()
	return d.finish(info)
}

// finish ends the job: its work is over.
func (d *diffLead) finish(info control.JobInfo) (*control.JobEnd, error) {
	msg := "every participant compared its local sessions and the distributed store was scanned once for extras"
	if d.j.Kind == control.JobRepair {
		msg = "every participant repaired what it confirmed, and the extras were tombstoned"
	}
	return &control.JobEnd{Status: control.JobDone, Message: msg, Result: d.resultOf(info, true, "")}, nil
}

func (d *diffLead) result(info control.JobInfo, why string) json.RawMessage {
	return d.resultOf(info, false, why)
}

// resultOf builds the job's result from the parts and what the lead
// found: a consistency.Report, or a RepairReport for a repair.
func (d *diffLead) resultOf(info control.JobInfo, complete bool, why string) json.RawMessage {
	rep := consistency.Report{Job: d.j.ID, Stage: d.j.Stage, Percent: d.j.Percent, Epoch: d.j.Epoch,
		Started: d.j.Created, Finished: d.r.m.opts.Now(), Complete: complete, Incomplete: why, Instances: []consistency.PassResult{}}
	repairs := map[string]consistency.RepairResult{}
	for _, p := range info.Parts {
		var pr diffPartResult
		if len(p.Result) == 0 || json.Unmarshal(p.Result, &pr) != nil {
			pr.Pass = consistency.PassResult{Instance: p.Instance, Checked: p.Done}
		}
		pr.Pass.Instance = p.Instance
		rep.Instances = append(rep.Instances, pr.Pass)
		if pr.Repair != nil {
			repairs[p.Instance] = *pr.Repair
		}
	}
	d.mu.Lock()
	if d.scanned != nil {
		rep.Scanned, rep.Dropped = d.scanned.Scanned, d.scanned.Dropped
	}
	rep.Extras = d.extras
	d.mu.Unlock()
	rep.Total()
	if d.j.Kind != control.JobRepair {
		b, _ := json.Marshal(rep)
		return b
	}
	rr := RepairReport{Diff: rep, Instances: repairs}
	if d.rep != nil {
		repairs[""] = d.rep.Result()
	}
	for _, x := range repairs {
		rr.Total.Copied += x.Copied
		rr.Total.Tombstoned += x.Tombstoned
		rr.Total.Skipped += x.Skipped
		rr.Total.Failed += x.Failed
		rr.Total.Left += x.Left
	}
	b, _ := json.Marshal(rr)
	return b
}

// lastDiff summarises a diff job's end as the last diff, which gates
// complete; a repair's detection is no diff of record.
func (d *diffLead) lastDiff(end control.JobEnd) *control.DiffResult {
	if d.j.Kind != control.JobDiff {
		return nil
	}
	rep, err := consistency.DecodeReport(end.Result)
	if err != nil {
		d.r.log.Error("sessionmigrate: diff report does not decode", "job", d.j.ID, "error", err.Error())
		return nil
	}
	last := LastDiffOf(rep, d.j)
	return &last
}

// ended removes the job's blobs.
func (d *diffLead) ended(ctx context.Context, info control.JobInfo, _ control.JobEnd) {
	names := []string{blobCandidates}
	for _, p := range info.Participants {
		names = append(names, blobMembers+p, blobHeld+p, blobDeleted+p)
	}
	if err := d.r.ctl.DeleteBlobs(ctx, d.j.ID, names...); err != nil {
		d.r.log.Warn("sessionmigrate: removing job blobs", "job", d.j.ID, "error", err.Error())
	}
}

// LastDiffOf summarises a diff job's report as the control plane's last
// diff, which gates complete.
func LastDiffOf(rep consistency.Report, j control.Job) control.DiffResult {
	c := rep.Mismatches
	d := control.DiffResult{
		At: rep.Finished, Epoch: j.Epoch, Stage: j.Stage, Percent: j.Percent,
		Clean: rep.Clean(), Partial: !rep.Complete, Incomplete: rep.Incomplete,
		Checked: rep.Checked, Missing: c.Missing, Mismatched: c.Stale + c.Data + c.Expiry + rep.Unreadable, Extra: c.Extra,
		Kinds: map[string]int64{}, Instances: len(rep.Instances), Participants: j.Participants, Job: j.ID, Actor: j.Actor,
	}
	for _, k := range consistency.Kinds {
		d.Kinds[string(k)] = c.Get(k)
	}
	return d
}
