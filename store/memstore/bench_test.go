package memstore

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// mutexStore is the benchmark baseline: Store's Get/Set semantics (copies,
// expiry, compare-and-set) around a single RWMutex and map.
type mutexStore struct {
	mu  sync.RWMutex
	m   map[string]entry
	now func() time.Time
}

func newMutexStore() *mutexStore {
	return &mutexStore{m: make(map[string]entry), now: time.Now}
}

func (s *mutexStore) Get(ctx context.Context, id string) (store.Record, bool, error) {
	if err := ctx.Err(); err != nil {
		return store.Record{}, false, err
	}
	nowMs := s.now().UnixMilli()
	s.mu.RLock()
	e, ok := s.m[id]
	s.mu.RUnlock()
	if !ok || e.tombstone || e.expired(nowMs) {
		return store.Record{}, false, nil
	}
	return e.record(), true, nil
}

func (s *mutexStore) Set(ctx context.Context, id string, rec store.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	nowMs := s.now().UnixMilli()
	data := bytes.Clone(rec.Data)
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.m[id]; ok && !cur.expired(nowMs) && rec.Version != 0 && cur.blocksSet(rec.Version) {
		return nil
	}
	s.m[id] = entry{data: data, expiresMs: rec.ExpiresAt.UnixMilli(), version: rec.Version}
	return nil
}

func (s *mutexStore) Delete(_ context.Context, id string) error {
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
	return nil
}

const (
	benchIDs       = 1 << 14 // sessions preloaded
	benchValueSize = 512     // a typical encoded session
)

var benchImpls = []struct {
	name string
	new  func(b *testing.B) store.Store
}{
	{"sharded-64", func(b *testing.B) store.Store { return newTestStore(b) }},
	{"sharded-1", func(b *testing.B) store.Store { return newTestStore(b, WithShards(1)) }},
	{"single-mutex", func(b *testing.B) store.Store { return newMutexStore() }},
}

func benchIDList() []string {
	ids := make([]string, benchIDs)
	for i := range ids {
		ids[i] = fmt.Sprintf("session-%016x", rand.Uint64())
	}
	return ids
}

func preload(b *testing.B, s store.Store, ids []string) {
	b.Helper()
	exp := time.Now().Add(time.Hour)
	value := bytes.Repeat([]byte{'v'}, benchValueSize)
	for _, id := range ids {
		if err := s.Set(b.Context(), id, store.Record{Data: value, ExpiresAt: exp, Version: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

// runParallel runs op from every benchmark goroutine, each walking ids from
// its own random start; i counts the goroutine's operations from there.
func runParallel(b *testing.B, ids []string, op func(ctx context.Context, id string, i uint64)) {
	var seed atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		i := rand.New(rand.NewPCG(seed.Add(1), 0)).Uint64()
		for pb.Next() {
			op(ctx, ids[i%benchIDs], i)
			i++
		}
	})
}

func BenchmarkGet(b *testing.B) {
	for _, impl := range benchImpls {
		b.Run(impl.name, func(b *testing.B) {
			s := impl.new(b)
			ids := benchIDList()
			preload(b, s, ids)
			runParallel(b, ids, func(ctx context.Context, id string, _ uint64) {
				if _, found, err := s.Get(ctx, id); !found || err != nil {
					b.Errorf("Get = (found %v, %v), want (true, nil)", found, err)
				}
			})
		})
	}
}

func BenchmarkSet(b *testing.B) {
	for _, impl := range benchImpls {
		b.Run(impl.name, func(b *testing.B) {
			s := impl.new(b)
			exp := time.Now().Add(time.Hour)
			value := bytes.Repeat([]byte{'v'}, benchValueSize)
			runParallel(b, benchIDList(), func(ctx context.Context, id string, _ uint64) {
				if err := s.Set(ctx, id, store.Record{Data: value, ExpiresAt: exp}); err != nil {
					b.Error(err)
				}
			})
		})
	}
}

// BenchmarkMixed is 90% Get, 10% Set: a session store's usual diet.
func BenchmarkMixed(b *testing.B) {
	for _, impl := range benchImpls {
		b.Run(impl.name, func(b *testing.B) {
			s := impl.new(b)
			exp := time.Now().Add(time.Hour)
			value := bytes.Repeat([]byte{'v'}, benchValueSize)
			ids := benchIDList()
			preload(b, s, ids)
			runParallel(b, ids, func(ctx context.Context, id string, i uint64) {
				var err error
				if i%10 == 0 {
					err = s.Set(ctx, id, store.Record{Data: value, ExpiresAt: exp})
				} else {
					_, _, err = s.Get(ctx, id)
				}
				if err != nil {
					b.Error(err)
				}
			})
		})
	}
}

// BenchmarkGetCopy measures what copy-on-Get costs by comparing Get with the
// same lookup returning the stored slice itself.
func BenchmarkGetCopy(b *testing.B) {
	for _, size := range []int{64, benchValueSize, 4 << 10, 64 << 10} {
		s := newTestStore(b)
		id := "session-id"
		if err := s.Set(b.Context(), id, store.Record{Data: make([]byte, size), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("copy/%dB", size), func(b *testing.B) {
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				if _, found, _ := s.Get(ctx, id); !found {
					b.Fatal("miss")
				}
			}
		})
		b.Run(fmt.Sprintf("no-copy/%dB", size), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e, ok := s.shardFor(id).live(id, s.now().UnixMilli())
				if !ok || len(e.data) != size {
					b.Fatal("miss")
				}
			}
		})
	}
}
