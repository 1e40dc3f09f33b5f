package control

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/sessionmigrate/sessionmigrate/internal/clocktest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newFakeClock returns a settable clock for Options.Clock.
func newFakeClock() *clocktest.Clock {
	return clocktest.New(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
}

// newMini starts a miniredis server and a client of it, both closed on
// cleanup.
func newMini(t testing.TB) (*miniredis.Miniredis, *redis.Client) {
	t.Helper()
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	return m, rdb
}

// newClient returns a control Client over rdb with a fake clock unless opts
// sets one.
func newClient(t testing.TB, rdb redis.UniversalClient, opts Options) *Client {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = newFakeClock().Now
	}
	c, err := New(rdb, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// mustUpdate applies fn through Apply and fails the test on error.
func mustApply(t *testing.T, c *Client, fn func(State) State) State {
	t.Helper()
	s, err := c.Apply(context.Background(), func(cur State) (State, error) { return fn(cur), nil })
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return s
}

// to returns a function moving the state to stage at percent.
func to(stage string, percent float64) func(State) State {
	return func(cur State) State {
		cur.Stage, cur.Percent = stage, percent
		cur.Actor, cur.Reason = "test", "move to "+stage
		return cur
	}
}

// eventually polls cond every few milliseconds until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
