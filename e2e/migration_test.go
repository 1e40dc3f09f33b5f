package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/internal/vuser"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// TestFullMigration moves three instances under load from local to
// complete with migratectl, one stage at a time, with no user logged out, no
// write lost, no dead session back and no failed request, on a standalone
// Redis and on a Redis Cluster. Besides the busy users, one idle session per
// instance is created at local and not used again until complete, where only
// Redis is read and it must still be there. The operator runs the migration
// as the runbook says: a backfill at dual (migratectl backfill --wait, which
// copies the idle sessions among the rest), the ramp, a full diff at ramp
// 100 (migratectl diff --wait, clean: exit 0) and complete without --force,
// which the control plane allows because of that diff. Then, with
// the load stopped, it reads every live session straight from Redis with a
// plain GET of prefix+id, as the application would once it drops this
// toolkit (invariant 7: no lock-in): the bytes are the session as the
// application wrote it and the key expires. Every dead session is absent.
func TestFullMigration(t *testing.T) {
	skipShort(t)
	for _, tp := range []struct {
		name  string
		start func(t *testing.T) (addr string, cluster bool, rdb redis.UniversalClient)
	}{
		{"standalone", func(t *testing.T) (string, bool, redis.UniversalClient) {
			srv := redistest.StartServer(t)
			return srv.Addr, false, srv.Client(t)
		}},
		{"cluster", func(t *testing.T) (string, bool, redis.UniversalClient) {
			c := redistest.StartCluster(t)
			return strings.Join(c.Addrs, ","), true, c.Client(t)
		}},
	} {
		t.Run(tp.name, func(t *testing.T) {
			addr, cluster, rdb := tp.start(t)
			fullMigration(t, addr, cluster, rdb)
		})
	}
}

func fullMigration(t *testing.T, addr string, cluster bool, rdb redis.UniversalClient) {
	cfg := instanceConfig{}
	if cluster {
		cfg.RedisArgs = []string{"--cluster"}
	}
	insts := startInstances(t, 3, addr, cfg)
	op := operator{t: t, addr: addr}
	if cluster {
		op.args = []string{"--cluster"}
	}
	idle := idleSessions(t, insts)
	load := startLoad(t, insts, vuser.Config{})
	progress(t, load, usersPerStep, progressBound)

	var written []ctlState
	step := func(args ...string) {
		t.Helper()
		st := op.change(append(args, "--reason", fmt.Sprintf("e2e full migration: %v", args))...)
		waitApplied(t, insts, st, applyBound)
		written = append(written, st)
		t.Logf("%v: %s applied by every instance", args, st)
		progress(t, load, usersPerStep, progressBound)
	}
	job := func(args ...string) ctlJob {
		t.Helper()
		start := time.Now()
		j := op.job(exitOK, append(args, "--wait", "--reason", fmt.Sprintf("e2e full migration: %s", args[0]))...)
		if j.Status != "done" || len(j.Parts) != len(insts) {
			t.Fatalf("%s: status %s on %d instances: %s", args[0], j.Status, len(j.Parts), j.Message)
		}
		t.Logf("%s job %s done in %s: %s", args[0], j.ID, time.Since(start).Round(time.Millisecond), j.Message)
		return j
	}
	step("stage", "shadow")
	step("stage", "dual")
	// The sessions from before shadow (the idle ones among them) reach
	// Redis now, not at their next read.
	bf := job("backfill")
	var bfRep struct {
		Total struct {
			Copied int64 `json:"copied"`
		} `json:"total"`
	}
	if err := json.Unmarshal(bf.Result, &bfRep); err != nil || bfRep.Total.Copied < int64(len(idle)) {
		t.Errorf("backfill copied %d sessions (%v), want at least the %d idle ones", bfRep.Total.Copied, err, len(idle))
	}
	step("ramp", "10")
	step("ramp", "50")
	step("ramp", "100")
	// Complete is refused until a clean diff of every instance is taken at
	// ramp 100; the diff runs under load.
	op.fails(exitRefused, "stage", "complete", "--reason", "e2e: no diff yet")
	diff := job("diff")
	var rep struct {
		Checked  int64 `json:"checked"`
		Complete bool  `json:"complete"`
	}
	if err := json.Unmarshal(diff.Result, &rep); err != nil || !rep.Complete || rep.Checked == 0 {
		t.Fatalf("diff report: %+v, %v", rep, err)
	}
	t.Logf("the diff compared %d sessions on every instance and scanned Redis once", rep.Checked)
	step("stage", "complete")
	if last := written[len(written)-1]; last.Stage != "complete" || last.Percent != 100 {
		t.Fatalf("last change wrote %s, want complete", last)
	}
	res := load.Stop()
	checkClean(t, res)
	for i, s := range idle {
		got := idleGet(t, insts[i], s)
		if got.status != http.StatusOK || got.sess != (appSession{User: s.User, Counter: s.Counter}) {
			t.Errorf("idle session created at local, read at complete: got %d %+v, want 200 %s counter %d", got.status, got.sess, s.User, s.Counter)
		}
	}
	res.Live = append(res.Live, idle...)
	kinds := make([]string, len(written))
	for i := range kinds {
		kinds[i] = "update"
	}
	checkHistory(t, op, written, kinds)
	checkJobsAudited(t, op, bf.ID, diff.ID)
	checkInRedis(t, rdb, res)
}

// checkJobsAudited checks that history records each job's request and end
// with its reason, and that nothing was forced.
func checkJobsAudited(t *testing.T, op operator, ids ...string) {
	t.Helper()
	events := map[string][]string{}
	for _, e := range op.history(60) {
		if e.Force {
			t.Errorf("history: epoch %d %s was forced", e.Epoch, e.State)
		}
		if e.Job != nil {
			events[e.Job.ID] = append(events[e.Job.ID], e.Job.Event+" "+e.Job.Status)
			if !strings.HasPrefix(e.Job.Reason, "e2e full migration") {
				t.Errorf("job %s %s: reason %q", e.Job.ID, e.Job.Event, e.Job.Reason)
			}
		}
	}
	for _, id := range ids {
		if got := strings.Join(events[id], ", "); got != "ended done, requested " {
			t.Errorf("history of job %s: got %q, want its request and its end", id, got)
		}
	}
}

// idleSessions logs one session in on each instance and increments it
// once; nothing uses them again until idleGet.
func idleSessions(t *testing.T, insts []*instance) []vuser.LiveSession {
	t.Helper()
	var out []vuser.LiveSession
	for i, in := range insts {
		name := fmt.Sprintf("idle-%d", i)
		a := idleCall(t, http.MethodPost, in.URL+"/login?user="+name, "")
		if a.status != http.StatusOK || a.sid == "" {
			t.Fatalf("idle login on %s: status %d", in.Name, a.status)
		}
		if b := idleCall(t, http.MethodPost, in.URL+"/incr", a.sid); b.status != http.StatusOK || b.sess.Counter != 1 {
			t.Fatalf("idle incr on %s: status %d counter %d", in.Name, b.status, b.sess.Counter)
		}
		out = append(out, vuser.LiveSession{ID: a.sid, User: name, Counter: 1})
	}
	return out
}

// idleGet reads an idle session from the instance it was created on.
func idleGet(t *testing.T, in *instance, s vuser.LiveSession) answer {
	t.Helper()
	return idleCall(t, http.MethodGet, in.URL+"/session", s.ID)
}

// appSession is a session as sessionapp's endpoints return it (its expiry
// left out).
type appSession struct {
	User    string `json:"u"`
	Counter int64  `json:"n"`
}

// answer is one answer of sessionapp to idleCall.
type answer struct {
	status int
	sid    string // the session cookie set by the answer, if any
	sess   appSession
}

// idleCall makes one request with sid as the session cookie.
func idleCall(t *testing.T, method, url, sid string) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sid != "" {
		req.AddCookie(&http.Cookie{Name: cookieName, Value: sid})
	}
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode}
	for _, c := range resp.Cookies() {
		if c.Name == cookieName && c.Value != "" {
			a.sid = c.Value
		}
	}
	if a.status == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&a.sess); err != nil {
			t.Fatalf("%s %s: body: %v", method, req.URL.Path, err)
		}
	}
	return a
}

// checkInRedis reads each live session of r as the application would once
// it drops this toolkit: scs's own Redis store (goredisstore) finds it, and
// scs's codec decodes the session the user knows, whose deadline is the
// key's expiry. No dead session has a data key.
//
// goredisstore takes a standalone client; on a cluster the check reads the
// key with a plain GET, which is all goredisstore's Find does.
func checkInRedis(t *testing.T, rdb redis.UniversalClient, r vuser.Result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if len(r.Live) == 0 {
		t.Fatal("no live session to check")
	}
	find := func(ctx context.Context, id string) ([]byte, bool, error) {
		b, err := rdb.Get(ctx, redisstore.DefaultPrefix+id).Bytes()
		if errors.Is(err, redis.Nil) {
			return nil, false, nil
		}
		return b, err == nil, err
	}
	if c, ok := rdb.(*redis.Client); ok {
		find = goredisstore.New(c).FindCtx
	}
	for _, s := range r.Live {
		key := redisstore.DefaultPrefix + s.ID
		// What scs's Load does: Find in its store, then decode.
		raw, found, err := find(ctx, s.ID)
		if err != nil || !found {
			t.Errorf("%s: goredisstore FindCtx = found %t, %v; want the session", s.User, found, err)
			continue
		}
		deadline, values, err := scs.GobCodec{}.Decode(raw)
		if err != nil {
			t.Errorf("%s: %d bytes in Redis that scs cannot decode: %v", s.User, len(raw), err)
			continue
		}
		user, _ := values["user"].(string)
		counter, _ := values["n"].(int64)
		hi := s.Counter
		if s.Uncertain {
			hi++
		}
		if user != s.User || counter < s.Counter || counter > hi {
			t.Errorf("%s: plain scs reads user %q counter %d, want %q counter %d", s.User, user, counter, s.User, s.Counter)
		}
		if exp, err := rdb.PExpireTime(ctx, key).Result(); err != nil || exp.Milliseconds() != deadline.UnixMilli() {
			t.Errorf("%s: PEXPIRETIME prefix+id = %v, %v; want the session's deadline %v (sessions are never immortal)", s.User, exp, err, deadline)
		}
	}
	for _, id := range r.Dead {
		err := rdb.Get(ctx, redisstore.DefaultPrefix+id).Err()
		if !errors.Is(err, redis.Nil) {
			t.Errorf("a dead session's data key: GET = %v, want redis: nil", err)
		}
	}
	t.Logf("plain scs reads all %d live sessions from Redis, each expiring at its deadline; none of %d dead ones is there", len(r.Live), len(r.Dead))
}
