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
// loading the current router and bucketing the id as ramp does (the Core's
// precomputed Hasher). Goal: at most 20ns. The id has the length of an scs
// session id (43 characters).
func BenchmarkRoutingDecision(b *testing.B) {
	local, dist := memstore.New(), memstore.New()
	defer local.Close()
	defer dist.Close()
	m, err := New(local, dist, Options{Stage: Ramp, Percent: 50})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	id := "Hq3LxPZ2mJ8sTn0vYc4kWd1fEo7rUb9aXyZ12345678"
	cut, _ := router.Cut(50)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		a := m.cur.Load()
		if a.state.Stage == Ramp && m.core.Bucket(id) < cut {
			n++
		}
	}
	_ = n
}

// BenchmarkLocalStageInterleaved is BenchmarkLocalStage with the two sides
// interleaved in blocks of 256 operations (alternating which goes first), so
// that drift on a shared machine (GC pacing, other tenants, frequency) hits
// both alike. It reports each side's time per operation and their ratio,
// the figure the goal is about: at most 1.10.
func BenchmarkLocalStageInterleaved(b *testing.B) {
	ids := benchIDs()
	ctx := context.Background()
	rec := store.Record{Data: make([]byte, 512), ExpiresAt: time.Now().Add(time.Hour)}
	ops := []struct {
		name string
		do   func(s store.Store, id string) error
	}{
		{"Get", func(s store.Store, id string) error { _, _, err := s.Get(ctx, id); return err }},
		{"Set", func(s store.Store, id string) error { return s.Set(ctx, id, rec) }},
	}
	for _, op := range ops {
		b.Run(op.name, func(b *testing.B) {
			local, dist := memstore.New(), memstore.New()
			defer local.Close()
			defer dist.Close()
			m, err := New(local, dist, Options{Stage: Local})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			fill(b, m, ids)

			const block = 256
			i := 0
			run := func(s store.Store) time.Duration {
				start := time.Now()
				for range block {
					if err := op.do(s, ids[i%benchSessions]); err != nil {
						b.Fatal(err)
					}
					i++
				}
				return time.Since(start)
			}
			var direct, through time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			rounds := 0
			for ; rounds*2*block < b.N; rounds++ {
				if rounds%2 == 0 {
					direct += run(local)
					through += run(m)
				} else {
					through += run(m)
					direct += run(local)
				}
			}
			n := float64(rounds * block)
			b.ReportMetric(float64(direct.Nanoseconds())/n, "memstore-ns/op")
			b.ReportMetric(float64(through.Nanoseconds())/n, "migrator-ns/op")
			b.ReportMetric(float64(through)/float64(direct), "ratio")
		})
	}
}
