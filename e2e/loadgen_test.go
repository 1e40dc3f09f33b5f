package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// startLoad starts a load on insts with cfg (Targets filled in) and stops
// it on cleanup, should the test end early.
func startLoad(t *testing.T, insts []*instance, cfg LoadConfig) *Load {
	t.Helper()
	cfg.Targets = urls(insts)
	l, err := StartLoad(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Stop() })
	return l
}

// progress waits until every user of l has made n more requests.
func progress(t *testing.T, l *Load, n uint64, bound time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	if err := l.WaitProgress(ctx, n); err != nil {
		t.Fatalf("%v\nload so far: %s", err, l.Snapshot())
	}
}

// checkClean fails t unless r saw no failure, after logging its totals.
func checkClean(t *testing.T, r Result) {
	t.Helper()
	t.Logf("load: %s", r)
	if r.Requests == 0 {
		t.Fatal("load made no request")
	}
	if !r.Clean() {
		t.Errorf("load: got failed=%d logouts=%d lost_writes=%d resurrections=%d anomalies=%d, want all 0",
			r.Failed, r.Logouts, r.LostWrites, r.Resurrections, r.Anomalies)
	}
}

// TestLoadDetects runs the load against a fake sessionapp that breaks one
// promise at a time, and checks that the load counts exactly that.
func TestLoadDetects(t *testing.T) {
	tests := []struct {
		fault fault
		count func(Result) uint64
	}{
		{faultNone, func(r Result) uint64 { return r.Bad() }},
		{faultLoseWrites, func(r Result) uint64 { return r.LostWrites }},
		{faultResurrect, func(r Result) uint64 { return r.Resurrections }},
		{faultLogout, func(r Result) uint64 { return r.Logouts }},
		{faultFail, func(r Result) uint64 { return r.Failed }},
		{faultPhantom, func(r Result) uint64 { return r.Anomalies }},
	}
	for _, tt := range tests {
		t.Run(tt.fault.String(), func(t *testing.T) {
			app := &fakeApp{fault: tt.fault, sessions: map[string]appSession{}}
			srv := httptest.NewServer(app.routes())
			defer srv.Close()
			l, err := StartLoad(context.Background(), LoadConfig{Targets: []string{srv.URL}, Users: 4, Think: time.Millisecond, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			werr := l.WaitProgress(ctx, 150)
			r := l.Stop()
			if werr != nil {
				t.Fatal(werr)
			}
			got := tt.count(r)
			switch {
			case tt.fault == faultNone && got != 0:
				t.Errorf("clean app: got %d bad answers, want 0: %s", got, r)
			case tt.fault != faultNone && got == 0:
				t.Errorf("got 0 %s detections, want some: %s", tt.fault, r)
			case tt.fault != faultNone && r.Bad() != got:
				t.Errorf("got %d bad answers, want only the %d %s ones: %s", r.Bad(), got, tt.fault, r)
			}
			if tt.fault != faultNone {
				return
			}
			if len(r.Live) == 0 || len(r.Dead) == 0 {
				t.Fatalf("got %d live and %d dead sessions, want some of each", len(r.Live), len(r.Dead))
			}
			for _, s := range r.Live {
				got := app.get(s.ID)
				// An increment cut short by Stop may or may not have landed.
				ok := got.Counter == s.Counter || (s.Uncertain && got.Counter == s.Counter+1)
				if !ok || got.User != s.User {
					t.Errorf("%s: app holds %+v, user knows counter %d (uncertain %t)", s.User, got, s.Counter, s.Uncertain)
				}
			}
		})
	}
}

func TestLoadConfigTargets(t *testing.T) {
	tests := []struct {
		target string
		ok     bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://[::1]:8080", true},
		{"http://10.0.0.1:8080", false},
		{"http://example.com", false},
		{"https://127.0.0.1:8080", false},
		{"127.0.0.1:8080", false},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			cfg := LoadConfig{Targets: []string{tt.target}}
			if err := cfg.setDefaults(); (err == nil) != tt.ok {
				t.Errorf("setDefaults: got error %v, want ok=%t", err, tt.ok)
			}
		})
	}
}

// fault is the promise a fakeApp breaks.
type fault int

const (
	faultNone       fault = iota
	faultLoseWrites       // every third increment is acknowledged, not stored
	faultResurrect        // logout and rotate keep the old session
	faultLogout           // every seventh read answers 401
	faultFail             // every seventh request answers 503
	faultPhantom          // every fifth read shows a counter ahead by 3
)

func (f fault) String() string {
	return [...]string{"none", "lose_writes", "resurrect", "logout", "fail", "phantom"}[f]
}

// fakeApp implements sessionapp's endpoints over a map, breaking one promise.
type fakeApp struct {
	fault fault

	mu       sync.Mutex
	sessions map[string]appSession
	n        int // requests, to pick which ones break
}

func (a *fakeApp) get(id string) appSession {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sessions[id]
}

func (a *fakeApp) routes() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.n++
		if a.fault == faultFail && a.n%7 == 0 {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		id := ""
		if c, err := r.Cookie("sid"); err == nil {
			id = c.Value
		}
		s, ok := a.sessions[id]
		op := r.Method + " " + r.URL.Path
		if op == "POST /login" {
			a.issue(w, appSession{User: r.FormValue("user")})
			return
		}
		if !ok || (op == "GET /session" && a.fault == faultLogout && a.n%7 == 0) {
			if op == "POST /logout" {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		switch op {
		case "GET /session":
			if a.fault == faultPhantom && a.n%5 == 0 {
				s.Counter += 3
			}
			writeBody(w, s)
		case "POST /incr":
			s.Counter++
			if a.fault != faultLoseWrites || a.n%3 != 0 {
				a.sessions[id] = s
			}
			writeBody(w, s)
		case "POST /rotate":
			if a.fault != faultResurrect {
				delete(a.sessions, id)
			}
			a.issue(w, s)
		case "POST /logout":
			if a.fault != faultResurrect {
				delete(a.sessions, id)
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			http.NotFound(w, r)
		}
	})
}

// issue stores s under a new id, sets the cookie and writes the body.
func (a *fakeApp) issue(w http.ResponseWriter, s appSession) {
	id := rand.Text()
	a.sessions[id] = s
	http.SetCookie(w, &http.Cookie{Name: "sid", Value: id})
	writeBody(w, s)
}

func writeBody(w http.ResponseWriter, s appSession) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s)
}
