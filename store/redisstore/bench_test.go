package redisstore

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// The benchmarks run against a real standalone server over loopback, one
// client goroutine, so they measure round trips plus client overhead. The
// "direct" cases are what the application's own session store costs: the
// floor this store is compared with. The "alt" cases are designs that were
// measured and not chosen (see the package documentation).

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
	const id = "bench-session-id-0123456789abcdef"
	dataKey := DefaultPrefix + id
	keys := []string{dataKey, sidecarKey(dataKey)}
	if err := s.Set(ctx, id, store.Record{Data: benchData, ExpiresAt: time.Now().Add(time.Hour), Version: 1}); err != nil {
		b.Fatal(err)
	}
	b.Run("redisstore", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, found, err := s.Get(ctx, id); err != nil || !found {
				b.Fatal(found, err)
			}
		}
	})
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Get(ctx, dataKey).Bytes(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("script-only", func(b *testing.B) {
		// The get script without the store around it (timeout context,
		// keys, decoding): the fair comparison for the alternatives below.
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.scripts.get.RunRO(ctx, c, keys).Slice(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("alt-multi-exec", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var data, side *redis.StringCmd
			var exp *redis.DurationCmd
			if _, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
				data = p.Get(ctx, keys[0])
				side = p.Get(ctx, keys[1])
				exp = p.PExpireTime(ctx, keys[0])
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			if _, err := data.Bytes(); err != nil {
				b.Fatal(err)
			}
			_, _, _ = side.Val(), exp.Val(), time.Now()
		}
	})
	b.Run("alt-pipeline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var data *redis.StringCmd
			if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
				data = p.Get(ctx, keys[0])
				p.Get(ctx, keys[1])
				p.PExpireTime(ctx, keys[0])
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			if _, err := data.Bytes(); err != nil {
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
	b.Run("alt-unversioned-multi-exec", func(b *testing.B) {
		b.ReportAllocs()
		side := sidecarKey(dataKey)
		ms := strconv.FormatInt(exp.UnixMilli(), 10)
		for b.Loop() {
			if _, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Do(ctx, "set", dataKey, benchData, "pxat", ms)
				p.Del(ctx, side)
				return nil
			}); err != nil {
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
	for _, key := range []string{"scs:session:plain-id", "scs:session:{braced}"} {
		b.Run(key, func(b *testing.B) {
			slotTags() // build the table outside the timing
			b.ReportAllocs()
			for b.Loop() {
				_ = sidecarKey(key)
			}
		})
	}
}
