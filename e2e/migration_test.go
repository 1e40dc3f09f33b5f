package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// TestFullMigration moves three instances under load from local to
// complete with migratectl, one stage at a time, with no user logged out, no
// write lost, no dead session back and no failed request. Besides the busy
// users, one idle session per instance is created at local and read once
// more at ramp 100 (which copies it to Redis), and must still be there at
// complete, where only Redis is read. Then, with the load stopped, it reads every live session
// straight from Redis with a plain GET of prefix+id, as the application
// would once it drops this toolkit (invariant 7: no lock-in): the bytes are
// the session as the application wrote it and the key expires. Every dead
// session is absent.
func TestFullMigration(t *testing.T) {
	skipShort(t)
	srv := redistest.StartServer(t)
	insts := startInstances(t, 3, srv.Addr, instanceConfig{})
	op := operator{t: t, addr: srv.Addr}
	idle := idleSessions(t, insts)
	load := startLoad(t, insts, LoadConfig{})
	progress(t, load, usersPerStep, progressBound)

	steps := [][]string{
		{"stage", "shadow"},
		{"stage", "dual"},
		{"ramp", "10"},
		{"ramp", "50"},
		{"ramp", "100"},
		// --force: complete is gated on a clean consistency diff recorded
		// at ramp 100, and the diff job is not built yet. Forcing skips
		// only that gate; the stage order was followed.
		{"stage", "complete", "--force"},
	}
	var written []ctlState
	for _, args := range steps {
		st := op.change(append(args, "--reason", fmt.Sprintf("e2e full migration: %v", args))...)
		waitApplied(t, insts, st, applyBound)
		written = append(written, st)
		t.Logf("%v: %s applied by every instance", args, st)
		if st.Stage == "ramp" && st.Percent == 100 {
			// Complete reads Redis only, so a session must be there
			// first. The idle ones are not in Redis (created at local,
			// untouched since): a read at ramp 100 copies each one (the
			// lazy copy). A backfill job would do the same for every
			// session; the diff gate, once built, proves it.
			for i, s := range idle {
				if got := idleGet(t, insts[i], s); got.status != http.StatusOK {
					t.Fatalf("idle session read at ramp 100: got %d, want 200", got.status)
				}
			}
		}
		progress(t, load, usersPerStep, progressBound)
	}
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
	checkInRedis(t, srv.Client(t), res)
}

// idleSessions logs one session in on each instance and increments it
// once; nothing uses them again until idleGet.
func idleSessions(t *testing.T, insts []*instance) []LiveSession {
	t.Helper()
	var out []LiveSession
	for i, in := range insts {
		name := fmt.Sprintf("idle-%d", i)
		a := idleCall(t, http.MethodPost, in.URL+"/login?user="+name, "")
		if a.status != http.StatusOK || a.sid == "" {
			t.Fatalf("idle login on %s: status %d", in.Name, a.status)
		}
		if b := idleCall(t, http.MethodPost, in.URL+"/incr", a.sid); b.status != http.StatusOK || b.sess.Counter != 1 {
			t.Fatalf("idle incr on %s: status %d counter %d", in.Name, b.status, b.sess.Counter)
		}
		out = append(out, LiveSession{ID: a.sid, User: name, Counter: 1})
	}
	return out
}

// idleGet reads an idle session from the instance it was created on.
func idleGet(t *testing.T, in *instance, s LiveSession) answer {
	t.Helper()
	return idleCall(t, http.MethodGet, in.URL+"/session", s.ID)
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
		req.AddCookie(&http.Cookie{Name: "sid", Value: sid})
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
		if c.Name == "sid" && c.Value != "" {
			a.sid = c.Value
		}
	}
	if a.status == http.StatusOK {
		a.bodyOK = json.NewDecoder(resp.Body).Decode(&a.sess) == nil
	}
	return a
}

// checkInRedis reads each live session of r with a plain GET of
// DefaultPrefix+id and checks its bytes decode to the session the user
// knows, that the key carries an expiry, and that no dead session has a
// data key.
func checkInRedis(t *testing.T, rdb *redis.Client, r Result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if len(r.Live) == 0 {
		t.Fatal("no live session to check")
	}
	for _, s := range r.Live {
		key := redisstore.DefaultPrefix + s.ID
		raw, err := rdb.Get(ctx, key).Bytes()
		if err != nil {
			t.Errorf("%s: GET prefix+id: %v, want the session's bytes", s.User, err)
			continue
		}
		var got appSession
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Errorf("%s: GET prefix+id returned %d bytes that are not the application's session JSON: %v", s.User, len(raw), err)
			continue
		}
		hi := s.Counter
		if s.Uncertain {
			hi++
		}
		if got.User != s.User || got.Counter < s.Counter || got.Counter > hi {
			t.Errorf("%s: Redis holds user %q counter %d, want %q counter %d", s.User, got.User, got.Counter, s.User, s.Counter)
		}
		if ttl, err := rdb.PTTL(ctx, key).Result(); err != nil || ttl <= 0 {
			t.Errorf("%s: PTTL prefix+id = %v, %v; want a positive expiry (sessions are never immortal)", s.User, ttl, err)
		}
	}
	for _, id := range r.Dead {
		err := rdb.Get(ctx, redisstore.DefaultPrefix+id).Err()
		if !errors.Is(err, redis.Nil) {
			t.Errorf("a dead session's data key: GET = %v, want redis: nil", err)
		}
	}
	t.Logf("Redis holds all %d live sessions with the application's bytes and an expiry; none of %d dead ones", len(r.Live), len(r.Dead))
}
