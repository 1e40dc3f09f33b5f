package faultproxy_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/internal/faultproxy"
	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
)

// redisThroughProxy starts a redis-server, a proxy in front of it and a
// go-redis client of the proxy that bounds I/O by ctx deadlines and does
// not retry, so every fault reaches the caller. direct talks to the server.
func redisThroughProxy(t *testing.T) (p *faultproxy.Proxy, client, direct *redis.Client) {
	t.Helper()
	srv := redistest.StartServer(t)
	p = newProxy(t, srv.Addr)
	client = redis.NewClient(&redis.Options{
		Addr:                  p.Addr(),
		ContextTimeoutEnabled: true,
		MaxRetries:            -1,
		PoolSize:              1,
	})
	t.Cleanup(func() { client.Close() })
	return p, client, srv.Client(t)
}

func TestRedisPing(t *testing.T) {
	p, client, _ := redisThroughProxy(t)
	if err := client.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("PING through the proxy: %v", err)
	}
	if err := client.Set(t.Context(), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := client.Get(t.Context(), "k").Result(); err != nil || got != "v" {
		t.Errorf("GET: got (%q, %v), want (\"v\", nil)", got, err)
	}
	if st := p.Stats(); st.BytesToTarget == 0 || st.BytesFromTarget == 0 {
		t.Errorf("byte counters: got %+v, want both nonzero", st)
	}
}

func TestRedisLatency(t *testing.T) {
	const lat = 100 * time.Millisecond
	p, client, _ := redisThroughProxy(t)
	if err := client.Ping(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	p.SetLatency(lat, 0)
	start := time.Now()
	err := client.Get(t.Context(), "missing").Err()
	if !errors.Is(err, redis.Nil) {
		t.Fatalf("GET: got %v, want redis.Nil", err)
	}
	// Request and reply are each delayed.
	if got := time.Since(start); got < 2*lat {
		t.Errorf("GET took %v, want >= %v", got, 2*lat)
	}
}

func TestRedisCutAllThenReconnect(t *testing.T) {
	p, client, direct := redisThroughProxy(t)
	if err := client.Ping(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	// A blocked BLPOP is in flight when the cut happens, so go-redis cannot
	// hide the cut behind its idle-connection health check.
	blpop := make(chan error, 1)
	go func() { blpop <- client.BLPop(context.Background(), 10*time.Second, "queue").Err() }()
	waitFor(t, "BLPOP to block", func() bool {
		info, err := direct.Info(t.Context(), "clients").Result()
		return err == nil && strings.Contains(info, "blocked_clients:1\r\n")
	})
	if got := p.CutAll(); got != 1 {
		t.Errorf("CutAll: got %d, want 1", got)
	}
	select {
	case err := <-blpop:
		if err == nil || errors.Is(err, redis.Nil) {
			t.Errorf("BLPOP after cut: got %v, want a connection error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("BLPOP did not fail after the cut")
	}
	if err := client.Ping(t.Context()).Err(); err != nil {
		t.Errorf("PING after cut: got %v, want a reconnect and nil", err)
	}
	if got := p.Stats().Accepted; got != 2 {
		t.Errorf("accepted: got %d, want 2 (one reconnect)", got)
	}
}

func TestRedisBlackholeTimesOutAtDeadline(t *testing.T) {
	const deadline = 200 * time.Millisecond
	tests := []struct {
		name string
		warm bool // whether the client has a pooled connection already
	}{
		{"pooled connection", true},
		{"new connection", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, client, _ := redisThroughProxy(t)
			if tt.warm {
				if err := client.Ping(t.Context()).Err(); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.SetMode(faultproxy.Blackhole); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), deadline)
			defer cancel()
			start := time.Now()
			err := client.Get(ctx, "k").Err()
			elapsed := time.Since(start)
			if err == nil || errors.Is(err, redis.Nil) {
				t.Fatalf("GET in blackhole: got %v, want a timeout", err)
			}
			if !errors.Is(err, context.DeadlineExceeded) && !isTimeout(err) {
				t.Errorf("GET in blackhole: got %v, want a deadline error", err)
			}
			if elapsed < deadline-5*time.Millisecond || elapsed > deadline+time.Second {
				t.Errorf("GET failed after %v, want about %v", elapsed, deadline)
			}

			if err := p.SetMode(faultproxy.Pass); err != nil {
				t.Fatal(err)
			}
			if err := client.Ping(t.Context()).Err(); err != nil {
				t.Errorf("PING after heal: got %v, want nil", err)
			}
		})
	}
}
