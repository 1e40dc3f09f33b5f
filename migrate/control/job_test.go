package control

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
)

// TestJobLifecycle: a job is requested for the live instances, one of a
// kind at a time; parts, phase, lead and blobs are recorded; the first end
// wins, frees the kind and is audited with the request.
func TestJobLifecycle(t *testing.T) {
	srv := redistest.StartServer(t)
	c := newClient(t, srv.Client(t), Options{Clock: time.Now})
	ctx := context.Background()

	if _, err := c.RequestJob(ctx, JobRequest{Kind: JobDiff, Reason: "r"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("request with no live instance: got %v, want ErrInvalid", err)
	}
	for _, id := range []string{"b", "a"} {
		if err := c.PublishHeartbeat(ctx, Heartbeat{InstanceID: id}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.RequestJob(ctx, JobRequest{Kind: JobDiff}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("request without a reason: got %v, want ErrInvalid", err)
	}
	j, err := c.RequestJob(ctx, JobRequest{Kind: JobDiff, Actor: "ann", Reason: "before complete", Params: JobParams{Rate: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(j.Participants, ",") != "a,b" || j.MemberKey == "" || !ValidJobID(j.ID) || j.Stage != StageLocal {
		t.Fatalf("job: got %+v", j)
	}
	if _, err := c.RequestJob(ctx, JobRequest{Kind: JobDiff, Reason: "again"}); !errors.Is(err, ErrRefused) || !errors.Is(err, ErrJobRunning) {
		t.Fatalf("a second diff: got %v, want ErrRefused and ErrJobRunning", err)
	}
	bf, err := c.RequestJob(ctx, JobRequest{Kind: JobBackfill, Reason: "another kind"})
	if err != nil {
		t.Fatalf("a backfill beside the diff: %v", err)
	}
	if ids, err := c.ActiveJobs(ctx); err != nil || ids[0] != bf.ID || ids[1] != j.ID || ids[2] != "" {
		t.Fatalf("ActiveJobs: got %v, %v", ids, err)
	}

	if err := c.PutPart(ctx, j.ID, Part{Instance: "a", Phase: "running", Done: 5, Total: 10}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetJobPhase(ctx, j.ID, "held"); err != nil {
		t.Fatal(err)
	}
	if err := c.PutScan(ctx, j.ID, Part{Instance: "a", Phase: "scan", Done: 3}); err != nil {
		t.Fatal(err)
	}
	info, err := c.JobInfo(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != JobRunning || info.Phase != "held" || info.Parts[0].Done != 5 || info.Parts[1].Phase != "" || info.Parts[1].Instance != "b" || info.Scan.Done != 3 {
		t.Fatalf("info: got %+v", info)
	}
	if lead, err := c.ClaimLead(ctx, j.ID, "a", time.Hour); err != nil || !lead {
		t.Fatalf("a claims the lead: %v, %v", lead, err)
	}
	if lead, err := c.ClaimLead(ctx, j.ID, "b", time.Hour); err != nil || lead {
		t.Fatalf("b claims a held lead: %v, %v", lead, err)
	}
	if lead, err := c.ClaimLead(ctx, j.ID, "a", time.Hour); err != nil || !lead {
		t.Fatalf("a renews: %v, %v", lead, err)
	}
	if first, err := c.JoinJob(ctx, j.ID, "a", "run-1"); err != nil || !first {
		t.Fatalf("a joins: %v, %v", first, err)
	}
	if first, err := c.JoinJob(ctx, j.ID, "a", "run-1"); err != nil || !first {
		t.Fatalf("a joins again from the same process: %v, %v", first, err)
	}
	if first, err := c.JoinJob(ctx, j.ID, "a", "run-2"); err != nil || first {
		t.Fatalf("a joins from a restarted process: %v, %v; want false", first, err)
	}
	if err := c.PutBlob(ctx, j.ID, "members:a", []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	if b, found, err := c.Blob(ctx, j.ID, "members:a"); err != nil || !found || len(b) != 2 {
		t.Fatalf("Blob: %v %v %v", b, found, err)
	}

	if err := c.CancelJob(ctx, j.ID, "bob", "wrong time"); err != nil {
		t.Fatal(err)
	}
	if info, _ := c.JobInfo(ctx, j.ID); info.Status != JobCanceling || info.Cancel.Actor != "bob" {
		t.Fatalf("after cancel: %+v", info)
	}
	end := JobEnd{Status: JobCanceled, By: "a", Message: "canceled by bob", Result: json.RawMessage(`{"x":1}`)}
	last := &DiffResult{Job: j.ID, Checked: 3, Partial: true, Incomplete: "canceled"}
	if ended, err := c.EndJob(ctx, j.ID, end, last); err != nil || !ended {
		t.Fatalf("EndJob: %v, %v", ended, err)
	}
	if ended, err := c.EndJob(ctx, j.ID, JobEnd{Status: JobDone}, &DiffResult{Job: j.ID, Clean: true}); err != nil || ended {
		t.Fatalf("a second EndJob: %v, %v; want false (the first end wins)", ended, err)
	}
	if d, found, err := c.LastDiff(ctx); err != nil || !found || d.Job != j.ID || !d.Partial || d.Clean || d.At.IsZero() {
		t.Fatalf("the last diff written with the first end: %+v %v %v", d, found, err)
	}
	info, err = c.JobInfo(ctx, j.ID)
	if err != nil || info.Status != JobCanceled || string(info.End.Result) != `{"x":1}` {
		t.Fatalf("ended: %+v, %v", info, err)
	}
	if err := c.CancelJob(ctx, j.ID, "bob", "again"); !errors.Is(err, ErrRefused) {
		t.Fatalf("cancel after the end: %v, want ErrRefused", err)
	}
	// The kind is free again.
	j2, err := c.RequestJob(ctx, JobRequest{Kind: JobDiff, Reason: "again"})
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := c.Jobs(ctx, 10)
	if err != nil || len(jobs) != 3 || jobs[0].ID != j2.ID {
		t.Fatalf("Jobs: got %d (%v), want 3, newest first", len(jobs), err)
	}

	hist, err := c.History(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, e := range hist {
		if e.Kind != KindJob || e.Job == nil || e.Problem != "" {
			t.Fatalf("audit entry %+v: want a job entry", e)
		}
		events = append(events, string(e.Job.Kind)+" "+e.Job.Event+" "+e.Job.Actor+" "+e.Job.Reason)
	}
	want := "diff requested  again|diff ended ann before complete|diff canceled bob wrong time|backfill requested  another kind|diff requested ann before complete"
	if got := strings.Join(events, "|"); got != want {
		t.Errorf("audit:\n got %s\nwant %s", got, want)
	}
}

// TestJobReap: a job whose every participant left is ended as failed by
// the next request of its kind, which then runs.
func TestJobReap(t *testing.T) {
	srv := redistest.StartServer(t)
	c := newClient(t, srv.Client(t), Options{Clock: time.Now})
	ctx := context.Background()
	if err := c.PublishHeartbeat(ctx, Heartbeat{InstanceID: "a"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	j, err := c.RequestJob(ctx, JobRequest{Kind: JobRepair, Reason: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if ended, err := c.Reap(ctx, j.ID, "ctl"); err != nil || ended {
		t.Fatalf("Reap with a live participant: %v, %v", ended, err)
	}
	if err := c.RemoveHeartbeat(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := c.PublishHeartbeat(ctx, Heartbeat{InstanceID: "z"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RequestJob(ctx, JobRequest{Kind: JobRepair, Reason: "r2"}); err != nil {
		t.Fatalf("request after every participant left: %v", err)
	}
	info, err := c.JobInfo(ctx, j.ID)
	if err != nil || info.Status != JobFailed || !strings.Contains(info.End.Message, "every participant (1) left") || info.End.Left[0] != "a" {
		t.Fatalf("the abandoned job: %+v, %v", info.End, err)
	}
	if _, err := c.JobInfo(ctx, "nope"); !errors.Is(err, ErrNoJob) {
		t.Fatalf("unknown job: %v, want ErrNoJob", err)
	}
	if _, err := c.JobInfo(ctx, "bad id"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad id: %v, want ErrInvalid", err)
	}
}

// TestUpdateForcedIsAudited: a forced change carries force in its audit
// entry; a plain one does not; a forced rollback neither hides it.
func TestUpdateForcedIsAudited(t *testing.T) {
	_, rdb := newMini(t)
	c := newClient(t, rdb, Options{})
	ctx := context.Background()
	s, err := c.Update(ctx, 0, State{Stage: StageShadow})
	if err != nil {
		t.Fatal(err)
	}
	if s, err = c.UpdateForced(ctx, s.Epoch, State{Stage: StageRamp, Percent: 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Rollback(ctx, RollbackRequest{Reason: "r", Force: true}); err != nil {
		t.Fatal(err)
	}
	hist, err := c.History(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got := [3]bool{hist[0].Force, hist[1].Force, hist[2].Force}; got != [3]bool{true, true, false} {
		t.Fatalf("force: got %v, want rollback true, forced update true, update false", got)
	}
}

// TestJobReapStuck: a job no instance starts, or that no instance ends
// after a cancel, is ended by Reap once ReapAfter has passed.
func TestJobReapStuck(t *testing.T) {
	srv := redistest.StartServer(t)
	clock := newFakeClock()
	c := newClient(t, srv.Client(t), Options{Clock: clock.Now})
	ctx := context.Background()
	if err := c.PublishHeartbeat(ctx, Heartbeat{InstanceID: "a"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	j, err := c.RequestJob(ctx, JobRequest{Kind: JobDiff, Reason: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if ended, err := c.Reap(ctx, j.ID, "ctl"); err != nil || ended {
		t.Fatalf("Reap right away: %v, %v", ended, err)
	}
	clock.Advance(ReapAfter)
	if ended, err := c.Reap(ctx, j.ID, "ctl"); err != nil || !ended {
		t.Fatalf("Reap of a job nobody started: %v, %v", ended, err)
	}
	info, _ := c.JobInfo(ctx, j.ID)
	if info.Status != JobFailed || !strings.Contains(info.End.Message, "job runner") {
		t.Fatalf("end: %+v", info.End)
	}

	j, err = c.RequestJob(ctx, JobRequest{Kind: JobDiff, Reason: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.PutPart(ctx, j.ID, Part{Instance: "a", Phase: "running"}); err != nil {
		t.Fatal(err)
	}
	if err := c.CancelJob(ctx, j.ID, "ann", "stop"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(ReapAfter - time.Second)
	if ended, _ := c.Reap(ctx, j.ID, "ctl"); ended {
		t.Fatal("reaped a canceled job before ReapAfter")
	}
	clock.Advance(time.Second)
	if ended, err := c.Reap(ctx, j.ID, "ctl"); err != nil || !ended {
		t.Fatalf("Reap of a canceled job nobody ended: %v, %v", ended, err)
	}
	if info, _ := c.JobInfo(ctx, j.ID); info.Status != JobCanceled || !strings.Contains(info.End.Message, "canceled by ann: stop") {
		t.Fatalf("end: %+v", info.End)
	}
}
