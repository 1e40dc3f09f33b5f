package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// login creates n sessions on in, each incremented once, and returns their
// ids.
func login(t *testing.T, in *instance, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		a := idleCall(t, http.MethodPost, in.URL+"/login?user="+fmt.Sprintf("u%d", i), "")
		if a.status != http.StatusOK || a.sid == "" {
			t.Fatalf("login on %s: status %d", in.Name, a.status)
		}
		if b := idleCall(t, http.MethodPost, in.URL+"/incr", a.sid); b.status != http.StatusOK {
			t.Fatalf("incr on %s: status %d", in.Name, b.status)
		}
		ids[i] = a.sid
	}
	return ids
}

// TestDiffFindsAndRepairFixesPlanted plants one mismatch of each kind the
// issue names in Redis at ramp 100: a Redis copy deleted (missing), a stale
// copy, a session logged out and written back raw (a resurrection: extra)
// and a wrong expiry. migratectl diff --wait reports each kind with its exit
// bit, repair --wait fixes them, and the next diff is clean.
func TestDiffFindsAndRepairFixesPlanted(t *testing.T) {
	skipShort(t)
	srv := redistest.StartServer(t)
	insts := startInstances(t, 3, srv.Addr, instanceConfig{})
	op := operator{t: t, addr: srv.Addr}
	for _, args := range [][]string{{"stage", "shadow"}, {"stage", "dual"}, {"ramp", "100"}} {
		waitApplied(t, insts, op.change(append(args, "--reason", "e2e planted")...), applyBound)
	}
	var ids []string
	for _, in := range insts {
		ids = append(ids, login(t, in, 10)...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rdb := srv.Client(t)
	dist := redisstore.New(rdb, redisstore.Options{})
	missing, stale, expiry := ids[1], ids[12], ids[23]
	if err := dist.Delete(ctx, missing); err != nil {
		t.Fatal(err)
	}
	cur, _, err := dist.Get(ctx, stale)
	if err != nil {
		t.Fatal(err)
	}
	cur.Version--
	if err := dist.Delete(ctx, stale); err == nil {
		err = dist.Set(ctx, stale, cur)
	}
	if err != nil {
		t.Fatal(err)
	}
	cur, _, err = dist.Get(ctx, expiry)
	if err != nil {
		t.Fatal(err)
	}
	cur.ExpiresAt = cur.ExpiresAt.Add(time.Hour)
	if err := dist.Set(ctx, expiry, cur); err != nil {
		t.Fatal(err)
	}
	// A logged-out session brought back by a raw write that ignores the
	// tombstone.
	gone := login(t, insts[2], 1)[0]
	raw, err := rdb.Get(ctx, redisstore.DefaultPrefix+gone).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if a := idleCall(t, http.MethodPost, insts[2].URL+"/logout", gone); a.status != http.StatusNoContent {
		t.Fatalf("logout: %d", a.status)
	}
	if err := rdb.Set(ctx, redisstore.DefaultPrefix+gone, raw, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}

	want := exitDiffBase | exitDiffMissing | exitDiffStale | exitDiffExtra | exitDiffExpiry
	j := op.job(want, "diff", "--wait", "--reason", "e2e: planted")
	var rep struct {
		Mismatches map[string]int64 `json:"mismatches"`
		Extras     struct {
			Samples []struct {
				Evidence string `json:"evidence"`
			} `json:"samples"`
		} `json:"extras"`
	}
	if err := json.Unmarshal(j.Result, &rep); err != nil {
		t.Fatal(err)
	}
	for kind, n := range map[string]int64{"missing": 1, "stale": 1, "extra": 1, "data": 0, "expiry": 1} {
		if rep.Mismatches[kind] != n {
			t.Errorf("diff: %d %s, want %d (%v)", rep.Mismatches[kind], kind, n, rep.Mismatches)
		}
	}
	if len(rep.Extras.Samples) != 1 || rep.Extras.Samples[0].Evidence != "tombstone" {
		t.Errorf("the resurrected session's sample: %+v, want evidence tombstone", rep.Extras.Samples)
	}
	if j.ExitCode != want || strings.Contains(string(j.Result), gone) || strings.Contains(string(j.Result), missing) {
		t.Errorf("exit code %d (want %d), or the report holds a session id", j.ExitCode, want)
	}

	r := op.job(exitOK, "repair", "--wait", "--reason", "e2e: fix them")
	var rr struct {
		Total struct {
			Copied, Tombstoned, Failed int64
		} `json:"total"`
	}
	if err := json.Unmarshal(r.Result, &rr); err != nil || rr.Total.Copied != 3 || rr.Total.Tombstoned != 1 || rr.Total.Failed != 0 {
		t.Fatalf("repair: %+v, %v; want 3 copied, 1 tombstoned", rr.Total, err)
	}
	op.job(exitOK, "diff", "--wait", "--reason", "e2e: after the repair")
	// The users see their sessions (each on its own instance: sticky);
	// the logged-out one stays out.
	for i, id := range []string{missing, stale, expiry} {
		if a := idleCall(t, http.MethodGet, insts[i].URL+"/session", id); a.status != http.StatusOK || a.sess.Counter != 1 {
			t.Errorf("a repaired session: status %d counter %d, want 200 and 1", a.status, a.sess.Counter)
		}
	}
	if a := idleCall(t, http.MethodGet, insts[2].URL+"/session", gone); a.status != http.StatusUnauthorized {
		t.Errorf("the resurrected session after the repair: status %d, want 401", a.status)
	}
}

// TestDiffInstanceKilled kills one instance (SIGKILL) while a slow diff
// runs: the job ends partial, naming the instance and what it had done,
// migratectl exits with the partial bit, and the last diff is partial.
func TestDiffInstanceKilled(t *testing.T) {
	skipShort(t)
	srv := redistest.StartServer(t)
	insts := startInstances(t, 3, srv.Addr, instanceConfig{})
	op := operator{t: t, addr: srv.Addr}
	for _, args := range [][]string{{"stage", "shadow"}, {"stage", "dual"}} {
		waitApplied(t, insts, op.change(append(args, "--reason", "e2e kill")...), applyBound)
	}
	for _, in := range insts {
		login(t, in, 60)
	}
	var req struct {
		Job ctlJob `json:"job"`
	}
	op.json(&req, "diff", "--rate", "10", "--batch", "5", "--reason", "e2e: slow diff")
	id := req.Job.ID
	deadline := time.Now().Add(30 * time.Second)
	for {
		j := op.job(exitOK, "jobs", "show", id)
		if j.Parts[1].Done > 0 {
			break
		}
		if time.Now().After(deadline) || j.Status != "running" {
			t.Fatalf("the diff did not get under way: %+v", j)
		}
		time.Sleep(100 * time.Millisecond)
	}
	victim := insts[1]
	killed := time.Now()
	victim.kill()
	j := op.job(exitDiffBase|exitDiffPartial, "jobs", "show", id, "--wait")
	t.Logf("killed %s; the job ended %s %s after: %s", victim.Name, j.Status, time.Since(killed).Round(time.Millisecond), j.Message)
	if j.Status != "partial" || len(j.Left) != 1 || j.Left[0] != victim.Name || !strings.Contains(j.Message, victim.Name+" left mid-job (its heartbeat expired)") {
		t.Fatalf("end: %+v", j)
	}
	var rep struct {
		Complete   bool   `json:"complete"`
		Incomplete string `json:"incomplete"`
	}
	if err := json.Unmarshal(j.Result, &rep); err != nil || rep.Complete || !strings.Contains(rep.Incomplete, victim.Name) {
		t.Fatalf("partial report: %+v, %v", rep, err)
	}
	var st struct {
		LastDiff struct {
			Partial bool   `json:"partial"`
			Clean   bool   `json:"clean"`
			Job     string `json:"job"`
		} `json:"last_diff"`
	}
	op.json(&st, "status")
	if !st.LastDiff.Partial || st.LastDiff.Clean || st.LastDiff.Job != id {
		t.Errorf("status: last diff %+v, want the partial diff %s", st.LastDiff, id)
	}
}
