package redisstore

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/internal/clocktest"
	"github.com/sessionmigrate/sessionmigrate/internal/embedredis"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/storetest"
)

// TestConformanceEmbedded runs the store contract suite against the
// embedded Redis of internal/embedredis, which the demo falls back to: in
// real time, as against redis-server, and on a fake clock that the server
// and the store share, so that records and keys expire exactly when the
// suite moves the clock.
func TestConformanceEmbedded(t *testing.T) {
	newStore := func(t *testing.T, now func() time.Time) store.Store {
		srv, err := embedredis.Start(embedredis.Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		c := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, ContextTimeoutEnabled: true})
		t.Cleanup(func() { c.Close() })
		s := New(c, Options{MaxTTL: time.Hour, Now: now})
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Run("real clock", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store { return newStore(t, nil) }, storetest.Config{MaxTTL: time.Hour})
	})
	t.Run("fake clock", func(t *testing.T) {
		clk := clocktest.New(time.Date(2030, 1, 2, 3, 4, 5, 678_901_234, time.UTC))
		storetest.Run(t, func(t *testing.T) store.Store { return newStore(t, clk.Now) },
			storetest.Config{MaxTTL: time.Hour, Now: clk.Now, Advance: clk.Advance})
	})
}
