package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionmigrate/sessionmigrate/consistency"
	"github.com/sessionmigrate/sessionmigrate/migrate"
	"github.com/sessionmigrate/sessionmigrate/migrate/control"
	"github.com/sessionmigrate/sessionmigrate/redact"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// instances starts n in-process application instances on the harness's
// control plane, each a Migrator at stage with its own local store,
// heartbeats and job runner, sessions under a prefix of the test's own.
func (h *harness) instances(n int, stage migrate.Stage, percent float64) ([]*migrate.Migrator, *redisstore.Store) {
	h.t.Helper()
	ctl := h.client()
	dist := redisstore.New(h.rdb(), redisstore.Options{Prefix: h.prefix + ":s:"})
	var ms []*migrate.Migrator
	for i := range n {
		local := memstore.New()
		m, err := migrate.New(local, dist, migrate.Options{Stage: stage, Percent: percent, DisableGuard: true,
			Registerer: prometheus.NewRegistry(), CompareDelay: 20 * time.Millisecond})
		if err != nil {
			h.t.Fatal(err)
		}
		id := fmt.Sprintf("web-%d", i)
		hb, err := ctl.NewHeartbeater(control.HeartbeaterOptions{Collect: m.HeartbeatCollector(id, "h", "test"), Interval: 50 * time.Millisecond})
		if err != nil {
			h.t.Fatal(err)
		}
		hb.Start()
		jobs, err := m.StartJobs(ctl, migrate.JobRunnerOptions{Instance: id, Poll: 20 * time.Millisecond, Tick: 20 * time.Millisecond})
		if err != nil {
			h.t.Fatal(err)
		}
		h.t.Cleanup(func() {
			jobs.Close()
			hb.Close()
			m.Close()
			local.Close()
		})
		ms = append(ms, m)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		hbs, err := ctl.Instances(context.Background())
		if err == nil && len(hbs) == n {
			return ms, dist
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("instances not live: %v %v", hbs, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDiffRepairComplete: at ramp 100 with planted mismatches, diff --wait
// exits with the bits of the kinds found and writes a redacted report;
// complete is refused; repair --wait fixes them; the next diff is clean
// and complete goes through without --force.
func TestDiffRepairComplete(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.setState(control.StageDual, 0)
	h.setState(control.StageRamp, 100)
	ms, dist := h.instances(2, migrate.Ramp, 100)
	for i, m := range ms {
		for j := range 10 {
			if err := m.Set(ctx, fmt.Sprintf("secret-%d-%d", i, j), store.Record{Data: []byte("x"), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := dist.Delete(ctx, "secret-0-3"); err != nil { // missing
		t.Fatal(err)
	}
	if err := dist.Set(ctx, "secret-nobody", store.Record{Data: []byte("x"), ExpiresAt: time.Now().Add(time.Hour)}); err != nil { // extra
		t.Fatal(err)
	}

	dir := t.TempDir()
	reportPath, csvPath := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.csv")
	r := h.run("diff", "--wait", "--reason", "before complete", "--report", reportPath, "--csv", csvPath)
	if want := exitDiffBase | exitDiffMissing | exitDiffExtra; r.code != want {
		t.Fatalf("diff with a missing and an extra session: got %v, want exit %d", r, want)
	}
	for _, w := range []string{"NOT clean: 1 missing, 0 stale, 1 extra", "web-0", "web-1", "(extras)", redact.ID("sessionmigrate", "secret-0-3")} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("diff output lacks %q:\n%s", w, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "mismatches found: 1 missing, 1 extra") || !strings.Contains(r.stderr, "sessions") {
		t.Errorf("stderr: want progress lines and the verdict, got:\n%s", r.stderr)
	}
	for _, path := range []string{reportPath, csvPath} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "secret") || strings.Contains(r.stdout+r.stderr, "secret") {
			t.Errorf("%s or the output holds a session id", path)
		}
	}
	b, _ := os.ReadFile(reportPath)
	if rep, err := consistency.DecodeReport(b); err != nil || rep.Mismatches != (consistency.Counts{Missing: 1, Extra: 1}) {
		t.Errorf("report file: %+v, %v", rep.Mismatches, err)
	}
	r = h.run("stage", "complete", "--reason", "too early")
	if r.code != exitRefused || !strings.Contains(r.stderr, "1 missing, 0 mismatched and 1 extra") {
		t.Fatalf("complete after an unclean diff: %v", r)
	}

	var rep jobView
	r = h.run("repair", "--wait", "--reason", "fix what the diff found", "-o", "json")
	if r.code != exitOK {
		t.Fatalf("repair: %v", r)
	}
	decodeJSON(t, r, &rep)
	rr, err := migrate.DecodeRepairReport(rep.Result)
	if err != nil || rr.Total.Copied != 1 || rr.Total.Tombstoned != 1 || rep.Params.FromJob == "" ||
		strings.Join(rep.Params.Kinds, ",") != "missing,extra" {
		t.Fatalf("repair result: %+v %+v, %v", rep.Params, rr.Total, err)
	}
	if !strings.Contains(r.stderr, `"job":"`+rep.ID+`"`) {
		t.Errorf("-o json: want JSON progress lines on stderr, got:\n%s", r.stderr)
	}

	h.ok("diff", "--wait", "--reason", "again")
	h.ok("stage", "complete", "--reason", "clean diff")
	if s := h.state(); s.Stage != control.StageComplete {
		t.Fatalf("state: %s, want complete", s)
	}
	// Every job is in the history with its reason, and status shows the
	// last diff per instance.
	out := h.ok("history").stdout
	for _, w := range []string{"diff job", "repair job", "requested", "fix what the diff found", "ended done"} {
		if !strings.Contains(out, w) {
			t.Errorf("history lacks %q:\n%s", w, out)
		}
	}
	var st statusView
	decodeJSON(t, h.ok("status", "-o", "json"), &st)
	if st.LastDiff == nil || !st.LastDiff.Clean || st.LastDiff.Kinds["missing"] != 0 || len(st.Instances) != 2 {
		t.Fatalf("status: %+v", st)
	}
	time.Sleep(100 * time.Millisecond) // a heartbeat or two
	decodeJSON(t, h.ok("status", "-o", "json"), &st)
	for _, in := range st.Instances {
		if in.InRedis == nil || *in.InRedis != 10 || in.LastDiffJob != st.LastDiff.Job {
			t.Errorf("instance %s: in redis %v of %v, job %q; want 10 of the last diff %s", in.ID, in.InRedis, in.DiffChecked, in.LastDiffJob, st.LastDiff.Job)
		}
	}
}

// TestJobCommands: a job without --wait, one of a kind at a time, the
// list, show, a dry run, cancel and its audit.
func TestJobCommands(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.setState(control.StageDual, 0)
	ms, _ := h.instances(1, migrate.Dual, 0)
	r := h.ok("backfill", "--reason", "copy old sessions", "--dry-run")
	if !strings.Contains(r.stdout, "dry run: a backfill job would run on 1 live instances (web-0)") {
		t.Errorf("dry run: %s", r.stdout)
	}
	if jobs, _ := h.client().Jobs(ctx, 5); len(jobs) != 0 {
		t.Fatalf("a dry run requested a job: %v", jobs)
	}
	// A slow diff: fill the instance's local store first.
	for j := range 400 {
		if err := ms[0].Set(ctx, fmt.Sprintf("s%d", j), store.Record{Data: []byte("x"), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	var req requestView
	decodeJSON(t, h.ok("diff", "--reason", "slow", "--rate", "100", "--batch", "10", "-o", "json"), &req)
	if !req.Requested || req.Job == nil || req.Job.Status != "running" || req.Job.Params.Rate != 100 {
		t.Fatalf("request: %+v", req)
	}
	id := req.Job.ID
	r = h.run("diff", "--reason", "twice")
	if r.code != exitRefused || !strings.Contains(r.stderr, id) {
		t.Fatalf("a second diff: %v, want refused naming %s", r, id)
	}
	if out := h.ok("jobs").stdout; !strings.Contains(out, id) || !strings.Contains(out, "running") {
		t.Errorf("jobs:\n%s", out)
	}
	h.ok("jobs", "cancel", id, "--reason", "not now")
	r = h.run("jobs", "show", id, "--wait")
	if r.code != exitDiffBase|exitDiffPartial || !strings.Contains(r.stdout, "canceled by tester: not now") {
		t.Fatalf("show --wait of a canceled diff: %v, want exit %d", r, exitDiffBase|exitDiffPartial)
	}
	var v jobView
	decodeJSON(t, h.ok("jobs", "show", id, "-o", "json"), &v)
	if v.Status != "canceled" || v.Cancel == nil || v.ExitCode != exitDiffBase|exitDiffPartial {
		t.Fatalf("show: %+v", v)
	}
	r = h.run("jobs", "cancel", id, "--reason", "again")
	if r.code != exitRefused {
		t.Errorf("cancel of an ended job: %v", r)
	}
	if r := h.run("jobs", "show", "no such"); r.code != exitUsage {
		t.Errorf("show with a bad id: %v", r)
	}
	if r := h.run("repair", "--reason", "r", "--kinds", "bogus"); r.code != exitUsage {
		t.Errorf("repair --kinds bogus: %v", r)
	}
	var hist struct {
		Entries []historyEntry `json:"entries"`
	}
	decodeJSON(t, h.ok("history", "-o", "json"), &hist)
	if e := hist.Entries[0]; e.Kind != control.KindJob || e.Job == nil || e.Job.Event != control.JobEndedEvent || e.Job.Status != control.JobCanceled {
		t.Errorf("newest history entry: %+v", e)
	}
}

// TestForceInHistory: a forced change shows in history.
func TestForceInHistory(t *testing.T) {
	h := newHarness(t)
	h.ok("stage", "dual", "--force", "--reason", "skip shadow")
	var hist struct {
		Entries []historyEntry `json:"entries"`
	}
	decodeJSON(t, h.ok("history", "-o", "json"), &hist)
	if !hist.Entries[0].Force {
		t.Fatalf("history: %+v, want the forced change marked", hist.Entries[0])
	}
	if out := h.ok("history").stdout; !strings.Contains(out, "(--force)") {
		t.Errorf("history table lacks (--force):\n%s", out)
	}
	h.ok("stage", "shadow", "--reason", "back")
	decodeJSON(t, h.ok("history", "-o", "json"), &hist)
	if hist.Entries[0].Force {
		t.Errorf("an unforced change is marked forced")
	}
}

func TestProgress(t *testing.T) {
	info := control.JobInfo{Job: control.Job{ID: "diff-1", Kind: control.JobDiff}, Status: control.JobRunning,
		Parts: []control.Part{{Instance: "a", Phase: "running", Done: 50, Total: 100}, {Instance: "b"}}}
	var buf strings.Builder
	p := newProgress(&buf, "")
	p.show(info)
	info.Parts[0].Done = 60
	p.show(info) // within the second: held back
	info.Status, info.Parts[0].Done = control.JobDone, 100
	p.show(info)
	p.done()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "50/100 sessions, 1/2 instances reporting, phase local") ||
		!strings.Contains(lines[1], "100/100 sessions") || !strings.Contains(lines[1], "(done)") {
		t.Fatalf("plain progress:\n%s", buf.String())
	}
	buf.Reset()
	p = newProgress(&buf, "json")
	p.show(info)
	var l progressLine
	if err := json.Unmarshal([]byte(buf.String()), &l); err != nil || l.Done != 100 || l.Total != 100 || l.Job != "diff-1" {
		t.Fatalf("json progress %q: %+v %v", buf.String(), l, err)
	}
	if got := bar(45, 100); got != "[=============>                ]  45%" {
		t.Errorf("bar(45, 100) = %q", got)
	}
	if got := bar(7, 0); !strings.HasPrefix(got, "[???") {
		t.Errorf("bar of an unknown total = %q", got)
	}
}

func TestDiffExitCode(t *testing.T) {
	tests := []struct {
		name   string
		rep    consistency.Report
		status control.JobStatus
		want   int
	}{
		{"clean", consistency.Report{Complete: true}, control.JobDone, 0},
		{"missing", consistency.Report{Complete: true, Mismatches: consistency.Counts{Missing: 3}}, control.JobDone, 33},
		{"every kind", consistency.Report{Complete: true, Mismatches: consistency.Counts{Missing: 1, Stale: 1, Extra: 1, Data: 1, Expiry: 1}}, control.JobDone, 63},
		{"unreadable counts as data", consistency.Report{Complete: true, Unreadable: 1}, control.JobDone, 40},
		{"partial, clean so far", consistency.Report{}, control.JobPartial, 96},
		{"partial with stale", consistency.Report{Mismatches: consistency.Counts{Stale: 2}}, control.JobPartial, 98},
		{"canceled", consistency.Report{Complete: true}, control.JobCanceled, 96},
	}
	for _, tt := range tests {
		if got := diffExitCode(tt.rep, tt.status); got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, got, tt.want)
		}
		if got := diffExitCode(tt.rep, tt.status); got >= 1 && got <= exitIncomplete {
			t.Errorf("%s: exit %d collides with the plain codes", tt.name, got)
		}
	}
}

// TestCorruptJobRecord: a damaged job part is reported as such, not as a
// corrupt state.
func TestCorruptJobRecord(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	c := h.client()
	if err := c.PublishHeartbeat(ctx, control.Heartbeat{InstanceID: "a"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	j, err := c.RequestJob(ctx, control.JobRequest{Kind: control.JobDiff, Reason: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.rdb().Set(ctx, "{"+h.prefix+"}:job:"+j.ID+":part:a", "garbage", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	r := h.run("jobs", "show", j.ID)
	if r.code != exitError {
		t.Fatalf("show of a job with a corrupt part: %v", r)
	}
	oneLine(t, r, "a job record is corrupt", "job part")
	if strings.Contains(r.stderr, "state key") {
		t.Errorf("a corrupt job part blamed on the state: %q", r.stderr)
	}
}
