package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/consistency"
	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/migrate/control"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// jobFleet is a few Migrators sharing one real redis-server, each with its
// own local store, heartbeats and job runner, as instances of one app.
type jobFleet struct {
	t     *testing.T
	rdb   redis.UniversalClient
	ctl   *control.Client
	dist  *redisstore.Store
	insts []*jobInstance
}

type jobInstance struct {
	id    string
	local *memstore.Store
	m     *Migrator
	hb    *control.Heartbeater
	jobs  *JobRunner
	gone  bool
}

const (
	fleetTick      = 20 * time.Millisecond
	fleetHeartbeat = 50 * time.Millisecond
)

func newJobFleet(t *testing.T, rdb redis.UniversalClient, n int, stage Stage, percent float64) *jobFleet {
	t.Helper()
	ctl, err := control.New(rdb, control.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := &jobFleet{t: t, rdb: rdb, ctl: ctl, dist: redisstore.New(rdb, redisstore.Options{})}
	// The control plane's state: what jobs record as the stage they ran at.
	if _, err := ctl.Apply(context.Background(), func(cur control.State) (control.State, error) {
		cur.Stage, cur.Percent, cur.Actor, cur.Reason = string(stage), percent, "test", "test"
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		in := &jobInstance{id: fmt.Sprintf("i%d", i), local: memstore.New()}
		in.m, err = New(in.local, f.dist, Options{Stage: stage, Percent: percent, DisableGuard: true,
			Registerer: prometheus.NewRegistry(), CompareDelay: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		in.hb, err = ctl.NewHeartbeater(control.HeartbeaterOptions{Collect: in.m.HeartbeatCollector(in.id, "h", "test"), Interval: fleetHeartbeat})
		if err != nil {
			t.Fatal(err)
		}
		in.hb.Start()
		in.jobs, err = in.m.StartJobs(ctl, JobRunnerOptions{Instance: in.id, Poll: fleetTick, Tick: fleetTick, LeadTTL: 25 * fleetTick})
		if err != nil {
			t.Fatal(err)
		}
		f.insts = append(f.insts, in)
	}
	t.Cleanup(func() {
		for _, in := range f.insts {
			in.leave()
			in.m.Close()
			in.local.Close()
		}
	})
	waitFor(t, "every instance live", func() bool {
		hbs, err := ctl.Instances(context.Background())
		return err == nil && len(hbs) == n
	})
	return f
}

// leave stops the instance's job runner and heartbeats, as a process that
// exits does.
func (in *jobInstance) leave() {
	if in.gone {
		return
	}
	in.gone = true
	in.jobs.Close()
	in.hb.Close()
}

// request asks for a job and waits for its end.
func (f *jobFleet) request(kind control.JobKind, params control.JobParams) control.JobInfo {
	f.t.Helper()
	j, err := f.ctl.RequestJob(context.Background(), control.JobRequest{Kind: kind, Params: params, Actor: "test", Reason: "test " + string(kind)})
	if err != nil {
		f.t.Fatal(err)
	}
	return f.wait(j.ID)
}

// wait waits for job id to end.
func (f *jobFleet) wait(id string) control.JobInfo {
	f.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err := f.ctl.JobInfo(context.Background(), id)
		if err != nil {
			f.t.Fatal(err)
		}
		if info.End != nil {
			return info
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("job %s did not end: %+v", id, info)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func jobRecord(v string, version uint64) store.Record {
	return store.Record{Data: []byte(v), ExpiresAt: time.Now().Add(time.Hour).Truncate(time.Millisecond), Version: version}
}

// TestJobBackfill: every instance copies its own local sessions; the job
// ends done with the sum.
func TestJobBackfill(t *testing.T) {
	f := newJobFleet(t, redistest.StartServer(t).Client(t), 3, Dual, 0)
	ctx := context.Background()
	for i, in := range f.insts {
		for j := range 50 {
			// Sessions from before the migration: local only.
			if err := in.local.Set(ctx, fmt.Sprintf("s%d-%d", i, j), jobRecord("x", uint64(j+1))); err != nil {
				t.Fatal(err)
			}
		}
	}
	info := f.request(control.JobBackfill, control.JobParams{Batch: 16})
	if info.Status != control.JobDone {
		t.Fatalf("backfill: %s: %s", info.Status, info.End.Message)
	}
	rep, err := DecodeBackfillReport(info.End.Result)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Total.Copied != 150 || len(rep.Instances) != 3 || !rep.Total.Done {
		t.Fatalf("backfill report: %+v", rep)
	}
	// The dashboard's job progress: each part's totals; the part ends with
	// its job (within a tick).
	for i, in := range f.insts {
		waitFor(t, "the part over", func() bool { return in.m.jobGauges.get(control.JobBackfill).running == 0 })
		if g := in.m.jobGauges.get(control.JobBackfill); g.done != 50 || g.total != 50 {
			t.Errorf("instance %d job gauges: got %+v, want 50 of 50", i, g)
		}
	}
	for i := range f.insts {
		if _, found, err := f.dist.Get(ctx, fmt.Sprintf("s%d-7", i)); err != nil || !found {
			t.Errorf("instance %d's session not in Redis: %v %v", i, found, err)
		}
	}
	// The kind is free again, and a second backfill copies nothing new.
	if info := f.request(control.JobBackfill, control.JobParams{}); info.Status != control.JobDone {
		t.Fatalf("second backfill: %s", info.Status)
	}
}

// plantMismatches writes sessions through the instances (both stores at
// dual) and then damages Redis: one copy deleted, one stale, one wrong
// expiry, and one session deleted by the app and written back raw (a
// resurrection). It returns the kinds planted.
func plantMismatches(t *testing.T, f *jobFleet) consistency.Counts {
	t.Helper()
	ctx := context.Background()
	for i, in := range f.insts {
		for j := range 20 {
			if err := in.m.Set(ctx, fmt.Sprintf("s%d-%d", i, j), jobRecord("v"+strconv.Itoa(j), 0)); err != nil {
				t.Fatal(err)
			}
		}
	}
	m0 := f.insts[0].m
	if err := f.dist.Delete(ctx, "s0-1"); err != nil { // missing
		t.Fatal(err)
	}
	cur, _, _ := f.dist.Get(ctx, "s0-2")
	if err := f.dist.Delete(ctx, "s0-2"); err != nil { // stale: an older version
		t.Fatal(err)
	}
	if err := f.dist.Set(ctx, "s0-2", store.Record{Data: []byte("old"), ExpiresAt: cur.ExpiresAt, Version: cur.Version - 1}); err != nil {
		t.Fatal(err)
	}
	cur, _, _ = f.dist.Get(ctx, "s1-3") // wrong expiry at the same version
	cur.ExpiresAt = cur.ExpiresAt.Add(time.Minute)
	if err := f.dist.Set(ctx, "s1-3", cur); err != nil {
		t.Fatal(err)
	}
	if err := m0.Delete(ctx, "s0-4"); err != nil { // resurrected
		t.Fatal(err)
	}
	if err := f.rdb.Set(ctx, redisstore.DefaultPrefix+"s0-4", "back", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	return consistency.Counts{Missing: 1, Stale: 1, Expiry: 1, Extra: 1}
}

// TestJobDiffAndRepair: a diff finds each planted kind, records an unclean
// last diff, a repair fixes them, and the next diff is clean.
func TestJobDiffAndRepair(t *testing.T) {
	f := newJobFleet(t, redistest.StartServer(t).Client(t), 3, Ramp, 100)
	want := plantMismatches(t, f)

	info := f.request(control.JobDiff, control.JobParams{Batch: 7})
	if info.Status != control.JobDone {
		t.Fatalf("diff: %s: %s", info.Status, info.End.Message)
	}
	rep, err := consistency.DecodeReport(info.End.Result)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mismatches != want || !rep.Complete || rep.Clean() || rep.Checked < 60 || len(rep.Instances) != 3 {
		t.Fatalf("diff report: mismatches %+v (want %+v), complete %v, checked %d", rep.Mismatches, want, rep.Complete, rep.Checked)
	}
	if s := rep.Extras.Samples; len(s) != 1 || s[0].Evidence != consistency.EvidenceTombstone {
		t.Errorf("extra sample: %+v, want one with tombstone evidence", s)
	}
	last, found, err := f.ctl.LastDiff(context.Background())
	if err != nil || !found || last.Clean || last.Job != info.ID || last.Missing != 1 || last.Mismatched != 2 || last.Extra != 1 || last.Instances != 3 {
		t.Fatalf("last diff: %+v, %v, %v", last, found, err)
	}
	waitFor(t, "heartbeats carry the diff part", func() bool {
		hbs, _ := f.ctl.Instances(context.Background())
		return len(hbs) == 3 && hbs[0].LastDiff != nil && hbs[0].LastDiff.Job == info.ID && hbs[0].LastDiff.InDistributed == 18
	})

	info = f.request(control.JobRepair, control.JobParams{FromJob: info.ID})
	if info.Status != control.JobDone {
		t.Fatalf("repair: %s: %s", info.Status, info.End.Message)
	}
	rr, err := DecodeRepairReport(info.End.Result)
	if err != nil {
		t.Fatal(err)
	}
	if rr.Total.Copied != 3 || rr.Total.Tombstoned != 1 || rr.Total.Failed != 0 {
		t.Fatalf("repair: %+v", rr.Total)
	}
	info = f.request(control.JobDiff, control.JobParams{})
	rep, err = consistency.DecodeReport(info.End.Result)
	if err != nil || !rep.Clean() {
		t.Fatalf("diff after repair: %+v, %v", rep.Mismatches, err)
	}
	last, _, _ = f.ctl.LastDiff(context.Background())
	if !last.Clean || last.Stage != control.StageRamp || last.Percent != 100 || len(last.Participants) != 3 {
		t.Fatalf("last diff after repair: %+v", last)
	}
}

// TestJobInstanceLeavesMidDiff: an instance that leaves during a diff ends
// the job partial, naming it; the last diff is partial, so complete stays
// refused.
func TestJobInstanceLeavesMidDiff(t *testing.T) {
	f := newJobFleet(t, redistest.StartServer(t).Client(t), 3, Ramp, 100)
	ctx := context.Background()
	for i, in := range f.insts {
		for j := range 300 {
			if err := in.m.Set(ctx, fmt.Sprintf("s%d-%d", i, j), jobRecord("x", 0)); err != nil {
				t.Fatal(err)
			}
		}
	}
	j, err := f.ctl.RequestJob(ctx, control.JobRequest{Kind: control.JobDiff, Params: control.JobParams{Rate: 200, Batch: 10}, Reason: "slow diff"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the diff under way", func() bool {
		info, err := f.ctl.JobInfo(ctx, j.ID)
		return err == nil && info.Parts[1].Done > 0
	})
	f.insts[1].leave()
	info := f.wait(j.ID)
	if info.Status != control.JobPartial || len(info.End.Left) != 1 || info.End.Left[0] != "i1" ||
		!strings.Contains(info.End.Message, "i1 left mid-job") {
		t.Fatalf("end: %s %+v", info.Status, info.End)
	}
	rep, err := consistency.DecodeReport(info.End.Result)
	if err != nil || rep.Complete || rep.Clean() || !strings.Contains(rep.Incomplete, "i1 left") {
		t.Fatalf("partial report: complete %v incomplete %q, %v", rep.Complete, rep.Incomplete, err)
	}
	last, _, _ := f.ctl.LastDiff(ctx)
	if !last.Partial || last.Clean {
		t.Fatalf("last diff: %+v, want partial", last)
	}
	err = f.ctl.CheckTransition(ctx, control.State{Stage: control.StageRamp, Percent: 100, Epoch: j.Epoch}, control.StageComplete, 100, false)
	if !errors.Is(err, control.ErrRefused) || !strings.Contains(err.Error(), "partial") {
		t.Fatalf("complete after a partial diff: %v", err)
	}
}

// TestJobCancel: a canceled job stops on every instance and ends canceled
// with what was done, audited with the cancel's reason.
func TestJobCancel(t *testing.T) {
	f := newJobFleet(t, redistest.StartServer(t).Client(t), 2, Dual, 0)
	ctx := context.Background()
	for i, in := range f.insts {
		for j := range 300 {
			if err := in.local.Set(ctx, fmt.Sprintf("s%d-%d", i, j), jobRecord("x", uint64(j+1))); err != nil {
				t.Fatal(err)
			}
		}
	}
	j, err := f.ctl.RequestJob(ctx, control.JobRequest{Kind: control.JobBackfill, Params: control.JobParams{Rate: 100, Batch: 10}, Reason: "slow"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the backfill under way", func() bool {
		info, err := f.ctl.JobInfo(ctx, j.ID)
		return err == nil && info.Parts[0].Done > 0
	})
	if err := f.ctl.CancelJob(ctx, j.ID, "ann", "wrong window"); err != nil {
		t.Fatal(err)
	}
	info := f.wait(j.ID)
	if info.Status != control.JobCanceled || !strings.Contains(info.End.Message, "canceled by ann: wrong window") {
		t.Fatalf("end: %s %+v", info.Status, info.End)
	}
	var rep BackfillReport
	if err := json.Unmarshal(info.End.Result, &rep); err != nil || rep.Total.Scanned == 0 || rep.Total.Scanned >= 600 {
		t.Fatalf("canceled backfill's result: %+v, %v; want some but not all sessions", rep.Total, err)
	}
}

// TestJobParticipantRestarted: a participant that restarts mid-job under
// the same id (its heartbeats never lapse) has lost its local sessions;
// its new process takes the job up again with a new run token, and the job
// ends partial, saying it restarted.
func TestJobParticipantRestarted(t *testing.T) {
	f := newJobFleet(t, redistest.StartServer(t).Client(t), 2, Dual, 0)
	ctx := context.Background()
	for _, in := range f.insts {
		for j := range 300 {
			if err := in.local.Set(ctx, fmt.Sprintf("%s-%d", in.id, j), jobRecord("x", uint64(j+1))); err != nil {
				t.Fatal(err)
			}
		}
	}
	j, err := f.ctl.RequestJob(ctx, control.JobRequest{Kind: control.JobBackfill, Params: control.JobParams{Rate: 100, Batch: 10}, Reason: "slow"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both parts under way", func() bool {
		info, err := f.ctl.JobInfo(ctx, j.ID)
		return err == nil && info.Parts[0].Done > 0 && info.Parts[1].Done > 0
	})
	// i1's runner stops and a new one starts, as a restarted process's.
	in := f.insts[1]
	in.jobs.Close()
	if in.jobs, err = in.m.StartJobs(f.ctl, JobRunnerOptions{Instance: in.id, Poll: fleetTick, Tick: fleetTick, LeadTTL: 25 * fleetTick}); err != nil {
		t.Fatal(err)
	}
	info := f.wait(j.ID)
	if info.Status != control.JobPartial || !strings.Contains(info.End.Message, "i1 left mid-job (it restarted)") {
		t.Fatalf("end: %s %s", info.Status, info.End.Message)
	}
}
