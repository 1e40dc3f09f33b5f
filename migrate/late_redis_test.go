package migrate

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/internal/faultproxy"
	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// TestLateWriteAfterRepin: a user's write on instance A reaches a slow
// Redis only after A gave up on it; meanwhile the load balancer moved the
// user to instance B, whose write (or logout) was acknowledged and stored.
// When A's write lands at last it must change nothing: B, and A once its
// repair has run, read B's write (or nothing, after the logout), at ramp 100
// and at complete. Real redis-server; A reaches it through a proxy that
// holds A's bytes until after B's write, as a starved server or a
// congested network does.
func TestLateWriteAfterRepin(t *testing.T) {
	srv := redistest.StartServer(t)
	direct := srv.Client(t)
	tests := []struct {
		name  string
		stage Stage  // where the slow write is made
		newer string // B's write, "" for a logout
		ackA  bool   // A's slow write is acknowledged (local holds it)
	}{
		{"dual, newer write", Dual, "3", true},
		{"dual, logout", Dual, "", true},
		{"complete, newer write", Complete, "3", false},
		{"complete, logout", Complete, "", false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			prefix := "late" + string(rune('a'+i)) + ":"
			proxy, err := faultproxy.New(srv.Addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { proxy.Close() })
			slow := redis.NewClient(&redis.Options{Addr: proxy.Addr(), ContextTimeoutEnabled: true, MaxRetries: -1})
			t.Cleanup(func() { slow.Close() })
			instance := func(c redis.UniversalClient) *Migrator {
				local := memstore.New()
				t.Cleanup(func() { local.Close() })
				m, err := New(local, redisstore.New(c, redisstore.Options{Prefix: prefix}), Options{
					Stage: Dual, DistTimeout: 100 * time.Millisecond, DisableGuard: true,
					RepairInterval: 10 * time.Millisecond,
				})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { m.Close() })
				return m
			}
			a, b := instance(slow), instance(direct)
			stage := func(st Stage, p float64) {
				t.Helper()
				for _, m := range []*Migrator{a, b} {
					if err := m.SetStage(st, p); err != nil {
						t.Fatal(err)
					}
				}
			}
			rec := func(data string) store.Record {
				return store.Record{Data: []byte(data), ExpiresAt: time.Now().Add(time.Hour)}
			}
			if err := a.Set(ctx, "s", rec("1")); err != nil {
				t.Fatal(err)
			}
			if tt.stage == Complete {
				stage(Ramp, 100)
				stage(Complete, 0)
			}

			// A's write of "2": the proxy holds it past A's timeout.
			before := scriptCalls(t, direct)
			if err := proxy.SetMode(faultproxy.Blackhole); err != nil {
				t.Fatal(err)
			}
			err = a.Set(ctx, "s", rec("2"))
			if got := err == nil; got != tt.ackA {
				t.Fatalf("A's slow write at %s: got error %v, want acknowledged %v", tt.stage, err, tt.ackA)
			}
			if scriptCalls(t, direct) != before {
				t.Fatal("A's write reached the server while held")
			}

			// The user, moved to B, writes or logs out.
			if tt.newer != "" {
				err = b.Set(ctx, "s", rec(tt.newer))
			} else {
				err = b.Delete(ctx, "s")
			}
			if err != nil {
				t.Fatal(err)
			}

			// A's write lands now.
			before = scriptCalls(t, direct)
			if err := proxy.SetMode(faultproxy.Pass); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "A's held write to reach the server", func() bool { return scriptCalls(t, direct) > before })
			if tt.stage == Dual {
				stage(Ramp, 100)
			}
			for _, m := range []*Migrator{a, b} {
				if err := m.Flush(ctx); err != nil {
					t.Fatal(err)
				}
			}
			for name, m := range map[string]*Migrator{"B": b, "A after its repair": a} {
				got, found, err := m.Get(ctx, "s")
				if err != nil {
					t.Fatalf("%s: Get: %v", name, err)
				}
				switch {
				case tt.newer == "" && found:
					t.Errorf("%s reads %q after the logout: A's late write resurrected the session", name, got.Data)
				case tt.newer != "" && (!found || string(got.Data) != tt.newer):
					t.Errorf("%s reads (%q, found %v), want %q: A's late write overtook B's acknowledged one", name, got.Data, found, tt.newer)
				}
			}
		})
	}
}

// scriptCalls counts the Lua scripts the server c talks to has run.
func scriptCalls(t *testing.T, c *redis.Client) int64 {
	t.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for line := range strings.Lines(info) {
		for _, cmd := range []string{"cmdstat_evalsha:calls=", "cmdstat_eval:calls="} {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(line), cmd); ok {
				var calls int64
				for _, r := range rest {
					if r < '0' || r > '9' {
						break
					}
					calls = calls*10 + int64(r-'0')
				}
				n += calls
			}
		}
	}
	return n
}
