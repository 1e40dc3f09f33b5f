package redisstore

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// The benchmarks here run against a real standalone server over loopback,
// one client goroutine, so they measure round trips plus client overhead.
// The "direct" cases are what the application's own session store costs:
// the floor this store is compared with. The "alt" cases are designs that
// were measured and not chosen (see the package documentation). The
// like-for-like comparisons the README quotes are in compare_bench_test.go.

func benchSetup(b *testing.B) (*Store, *redis.Client, context.Context) {
	b.Helper()
	c := sharedServer(b).Client(b)
	ctx := context.Background()
	if err := c.FlushAll(ctx).Err(); err != nil {
		b.Fatal(err)
	}
	return New(c, Options{}), c, ctx
}

var benchData = make([]byte, 512) // a typical encoded scs session

func BenchmarkGet(b *testing.B) {
	s, c, ctx := benchSetup(b)
	const id, legacyID = "bench-session-id-0123456789abcdef", "bench-legacy-id-0123456789abcdef"
	dataKey, sideKey := s.recordKeys(id)
	exp := time.Now().Add(time.Hour)
	if err := s.Set(ctx, id, store.Record{Data: benchData, ExpiresAt: exp, Version: 1}); err != nil {
		b.Fatal(err)
	}
	if err := New(c, Options{LegacySidecars: true}).Set(ctx, legacyID, store.Record{Data: benchData, ExpiresAt: exp, Version: 1}); err != nil {
		b.Fatal(err)
	}
	get := func(s *Store, ctx context.Context, id string) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, found, err := s.Get(ctx, id); err != nil || !found {
					b.Fatal(found, err)
				}
			}
		}
	}
	// The caller's deadline is sooner than Options.Timeout, as the
	// Migrator's (DistTimeout): the store adds no timer of its own.
	dctx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	b.Run("redisstore", get(s, ctx, id))
	b.Run("redisstore-caller-deadline", get(New(c, Options{Timeout: 2 * time.Hour}), dctx, id))
	b.Run("redisstore-legacy-sidecar", get(s, ctx, legacyID))
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Get(ctx, dataKey).Bytes(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("alt-script", func(b *testing.B) {
		// The previous design: every read ran the get script.
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.scripts.get.RunRO(ctx, c, []string{dataKey, sideKey}).Slice(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkSet(b *testing.B) {
	s, c, ctx := benchSetup(b)
	const id = "bench-session-id-0123456789abcdef"
	dataKey := DefaultPrefix + id
	exp := time.Now().Add(time.Hour)
	b.Run("redisstore-versioned", func(b *testing.B) {
		b.ReportAllocs()
		v := uint64(0)
		for b.Loop() {
			v++
			if err := s.Set(ctx, id, store.Record{Data: benchData, ExpiresAt: exp, Version: v}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("redisstore-unversioned", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Set(ctx, id, store.Record{Data: benchData, ExpiresAt: exp}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("direct-pxat", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := c.SetArgs(ctx, dataKey, benchData, redis.SetArgs{ExpireAt: exp}).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSetMany writes batches of 100 versioned sessions; divide by 100
// for the cost per session.
func BenchmarkSetMany(b *testing.B) {
	s, _, ctx := benchSetup(b)
	exp := time.Now().Add(time.Hour)
	entries := make([]store.Entry, 100)
	for i := range entries {
		entries[i].ID = "bench-session-" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	v := uint64(0)
	for b.Loop() {
		v++
		for i := range entries {
			entries[i].Record = store.Record{Data: benchData, ExpiresAt: exp, Version: v}
		}
		if _, err := s.SetMany(ctx, entries); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDeleteVersion(b *testing.B) {
	s, _, ctx := benchSetup(b)
	b.ReportAllocs()
	v := uint64(0)
	for b.Loop() {
		v++
		if err := s.DeleteVersion(ctx, "bench-session-id", v, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSidecarKey(b *testing.B) {
	s := New(nil, Options{})
	for _, id := range []string{"plain-id", "{braced}"} {
		b.Run(id, func(b *testing.B) {
			slotTags() // build the table outside the timing
			b.ReportAllocs()
			for b.Loop() {
				_, _ = s.recordKeys(id)
			}
		})
	}
}
