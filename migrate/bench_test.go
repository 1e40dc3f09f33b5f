package migrate

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/router"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
)

const benchSessions = 10000

func benchIDs() []string {
	ids := make([]string, benchSessions)
	for i := range ids {
		ids[i] = "sess-" + strconv.Itoa(i) + "-Hq3LxPZ2mJ8sTn0vYc4kWd1f"
	}
	return ids
}

func fill(b *testing.B, s store.Store, ids []string) {
	ctx := context.Background()
	for _, id := range ids {
		if err := s.Set(ctx, id, store.Record{Data: make([]byte, 512), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLocalStage compares the Migrator at stage local with the memstore
// it wraps: the goal is at most 1.10x the time and no extra allocation per
// Get.
func BenchmarkLocalStage(b *testing.B) {
	ids := benchIDs()
	ctx := context.Background()
	// One memstore, read directly and through the Migrator: same data, same
	// heap, so the difference is the Migrator's own cost.
	local, dist := memstore.New(), memstore.New()
	defer local.Close()
	defer dist.Close()
	m, err := New(local, dist, Options{Stage: Local})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	fill(b, m, ids)

	for _, c := range []struct {
		name string
		s    store.Store
	}{{"memstore", local}, {"migrator", m}} {
		b.Run("Get/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, _, err := c.s.Get(ctx, ids[i%benchSessions]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		})
		b.Run("Set/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			rec := store.Record{Data: make([]byte, 512), ExpiresAt: time.Now().Add(time.Hour)}
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if err := c.s.Set(ctx, ids[i%benchSessions], rec); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		})
	}
}

// BenchmarkRoutingDecision measures what every request pays to pick a store:
// loading the current router and bucketing the id. Goal: at most 20ns.
func BenchmarkRoutingDecision(b *testing.B) {
	local, dist := memstore.New(), memstore.New()
	defer local.Close()
	defer dist.Close()
	m, err := New(local, dist, Options{Stage: Ramp, Percent: 50})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	id := "Hq3LxPZ2mJ8sTn0vYc4kWd1fEo7rUb9a"
	cut, _ := router.Cut(50)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		a := m.cur.Load()
		if a.state.Stage == Ramp && router.Bucket(m.opts.Salt, id) < cut {
			n++
		}
	}
	_ = n
}
