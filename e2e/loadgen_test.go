package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/internal/vuser"
)

// cookieName is sessionapp's session cookie (its --cookie-name default).
const cookieName = "session_id"

// startLoad starts virtual users (package internal/vuser) on insts and
// stops them on cleanup, should the test end early. cfg.App defaults to
// sessionapp's endpoints on insts' URLs, cfg.Balancer to a sticky pool over
// them, as a load balancer with session affinity.
func startLoad(t *testing.T, insts []*instance, cfg vuser.Config) *vuser.Load {
	t.Helper()
	if cfg.App == nil {
		app, err := vuser.NewHTTPApp(cookieName, urls(insts))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(app.Close)
		cfg.App = app
	}
	if cfg.Balancer == nil {
		pool, err := vuser.NewPool(len(insts), vuser.Sticky)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Balancer = pool
	}
	l, err := vuser.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Stop() })
	return l
}

// progress waits until every user of l has made n more requests.
func progress(t *testing.T, l *vuser.Load, n uint64, bound time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	if err := l.WaitProgress(ctx, n); err != nil {
		t.Fatalf("%v\nload so far: %s", err, l.Snapshot())
	}
}

// checkClean fails t unless r saw no failure, after logging its totals.
func checkClean(t *testing.T, r vuser.Result) {
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
