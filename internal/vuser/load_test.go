package vuser

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// instances is how many instances the tests' fake fleets have.
const instances = 3

// fleet serves one fakeApp on instances test servers and returns an
// HTTPApp for them; everything is closed on cleanup.
func fleet(t *testing.T, app *fakeApp) (*HTTPApp, []*httptest.Server) {
	t.Helper()
	var srvs []*httptest.Server
	var targets []string
	for range instances {
		s := httptest.NewServer(app)
		t.Cleanup(s.Close)
		srvs = append(srvs, s)
		targets = append(targets, s.URL)
	}
	h, err := NewHTTPApp(cookieName, targets)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h, srvs
}

func newPool(t *testing.T, p Policy) *Pool {
	t.Helper()
	pool, err := NewPool(instances, p)
	if err != nil {
		t.Fatal(err)
	}
	return pool
}

// runLoad runs a load until every user made perUser more requests, and
// stops it.
func runLoad(t *testing.T, cfg Config, perUser uint64) Result {
	t.Helper()
	l, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	werr := l.WaitProgress(ctx, perUser)
	r := l.Stop()
	if werr != nil {
		t.Fatalf("%v: %s", werr, r)
	}
	return r
}

// TestLoadDetects runs the load against a fake sessionapp that breaks one
// promise at a time, with each balancing policy, and checks that the load
// counts exactly that promise and nothing else.
func TestLoadDetects(t *testing.T) {
	tests := []struct {
		fault fault
		count func(Result) uint64
	}{
		{faultNone, Result.Bad},
		{faultLoseWrites, func(r Result) uint64 { return r.LostWrites }},
		{faultResurrect, func(r Result) uint64 { return r.Resurrections }},
		{faultLogout, func(r Result) uint64 { return r.Logouts }},
		{faultFail, func(r Result) uint64 { return r.Failed }},
		{faultPhantom, func(r Result) uint64 { return r.Anomalies }},
		{faultExpiry, func(r Result) uint64 { return r.Anomalies }},
		{faultGarbage, func(r Result) uint64 { return r.Anomalies }},
	}
	for _, policy := range []Policy{Sticky, RoundRobin} {
		for _, tt := range tests {
			t.Run(policy.String()+"/"+tt.fault.String(), func(t *testing.T) {
				app := newFakeApp(tt.fault)
				h, _ := fleet(t, app)
				r := runLoad(t, Config{App: h, Balancer: newPool(t, policy), Users: 4, Think: time.Millisecond, Seed: 7}, 150)
				got := tt.count(r)
				switch {
				case tt.fault == faultNone && got != 0:
					t.Errorf("clean app: got %d broken promises, want 0: %s", got, r)
				case tt.fault != faultNone && got == 0:
					t.Errorf("got 0 %s detections, want some: %s", tt.fault, r)
				case tt.fault != faultNone && r.Bad() != got:
					t.Errorf("got %d broken promises, want only the %d %s ones: %s", r.Bad(), got, tt.fault, r)
				}
				if tt.fault != faultNone {
					if len(r.Problems) == 0 {
						t.Errorf("no problem described, want the first ones")
					}
					return
				}
				checkFinal(t, app, r)
			})
		}
	}
}

// checkFinal checks what a clean load left: live and dead sessions, and
// every live one in the app as its user knows it.
func checkFinal(t *testing.T, app *fakeApp, r Result) {
	t.Helper()
	if len(r.Live) == 0 || len(r.Dead) == 0 || r.Logins == 0 || r.Rotations == 0 || r.UserLogouts == 0 || r.Probes == 0 {
		t.Fatalf("got %d live and %d dead sessions: %s; want some of everything", len(r.Live), len(r.Dead), r)
	}
	for _, s := range r.Live {
		got := app.get(s.ID)
		// An increment cut short by Stop may or may not have landed.
		ok := got.Counter == s.Counter || (s.Uncertain && got.Counter == s.Counter+1)
		if !ok || got.User != s.User || !got.Expires.Equal(s.Expires) {
			t.Errorf("%s: app holds %+v, user knows counter %d (uncertain %t) expiring %v", s.User, got, s.Counter, s.Uncertain, s.Expires)
		}
	}
	for _, id := range r.Dead {
		if got := app.get(id); got.User != "" {
			t.Errorf("a dead session is still in the app")
		}
	}
	for _, p := range r.Problems {
		for _, s := range r.Live {
			if strings.Contains(p, s.ID) {
				t.Errorf("problem %q contains a session id", p)
			}
		}
	}
}

// TestLoadAcrossRestarts takes each instance out of the pool in turn,
// stops it, starts a new one on another port and puts it back, under load:
// with draining, no request fails, and the model stays exact.
func TestLoadAcrossRestarts(t *testing.T) {
	for _, policy := range []Policy{Sticky, RoundRobin} {
		t.Run(policy.String(), func(t *testing.T) {
			app := newFakeApp(faultNone)
			h, srvs := fleet(t, app)
			pool := newPool(t, policy)
			l, err := Start(context.Background(), Config{App: h, Balancer: pool, Users: 6, Think: time.Millisecond, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Stop()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			for i := range instances {
				if err := l.WaitProgress(ctx, 20); err != nil {
					t.Fatal(err)
				}
				if err := pool.Down(ctx, i); err != nil {
					t.Fatal(err)
				}
				before := pool.Served()[i]
				srvs[i].Close() // the instance stops: nothing may reach it
				if err := l.WaitProgress(ctx, 20); err != nil {
					t.Fatal(err)
				}
				if got := pool.Served()[i]; got != before {
					t.Fatalf("instance %d got %d requests while down, want 0", i, got-before)
				}
				srvs[i] = httptest.NewServer(app)
				t.Cleanup(srvs[i].Close)
				if err := h.SetTarget(i, srvs[i].URL); err != nil {
					t.Fatal(err)
				}
				if err := pool.Up(i); err != nil {
					t.Fatal(err)
				}
			}
			if err := l.WaitProgress(ctx, 20); err != nil {
				t.Fatal(err)
			}
			r := l.Stop()
			if !r.Clean() {
				t.Fatalf("restarts with draining: got %s, want no broken promise", r)
			}
			checkFinal(t, app, r)
		})
	}
}

// TestLoadWithoutInstances: requests no instance takes are failed
// requests, counted.
func TestLoadWithoutInstances(t *testing.T) {
	app := newFakeApp(faultNone)
	h, _ := fleet(t, app)
	pool := newPool(t, Sticky)
	for i := range instances {
		if err := pool.Down(context.Background(), i); err != nil {
			t.Fatal(err)
		}
	}
	r := runLoad(t, Config{App: h, Balancer: pool, Users: 2, Think: time.Millisecond}, 5)
	if r.Failed != r.Requests || r.Failed == 0 || r.Bad() != r.Failed {
		t.Fatalf("got %s, want every request failed and nothing else", r)
	}
	if !strings.Contains(r.Problems[0], "no instance is up") {
		t.Errorf("problem %q does not say no instance is up", r.Problems[0])
	}
}

// TestLoadStopsAtItsBounds: users stop on their own when MaxDuration has
// passed, and at MaxRequests.
func TestLoadStopsAtItsBounds(t *testing.T) {
	h, _ := fleet(t, newFakeApp(faultNone))
	l, err := Start(context.Background(), Config{App: h, Balancer: newPool(t, Sticky), Users: 2, Think: time.Millisecond,
		MaxDuration: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("users still running 10s after a 100ms time bound")
	}
	if got := l.Stop().Requests; got == 0 {
		t.Errorf("requests: got 0, want some before the time bound")
	}

	l2, err := Start(context.Background(), Config{App: h, Balancer: newPool(t, Sticky), Users: 2, Think: time.Millisecond, MaxRequests: 10})
	if err != nil {
		t.Fatal(err)
	}
	l2.wg.Wait()
	if got := l2.Stop().Requests; got != 20 {
		t.Errorf("requests with MaxRequests 10 and 2 users: got %d, want 20", got)
	}
}

func TestConfigRequired(t *testing.T) {
	h, _ := fleet(t, newFakeApp(faultNone))
	for _, cfg := range []Config{{App: h}, {Balancer: newPool(t, Sticky)}, {App: h, Balancer: newPool(t, Sticky), Users: -1}} {
		if l, err := Start(context.Background(), cfg); err == nil {
			l.Stop()
			t.Errorf("Start(%+v): got nil error, want one", cfg)
		}
	}
}
