package memstore

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/sessionmigrate/sessionmigrate/store"
)

var (
	_ store.Store            = (*Store)(nil)
	_ store.Versioned        = (*Store)(nil)
	_ store.Scanner          = (*Store)(nil)
	_ store.SetterAt         = (*Store)(nil)
	_ store.LatestWriter     = (*Store)(nil)
	_ store.TombstoneReader  = (*Store)(nil)
	_ store.TombstoneScanner = (*Store)(nil)
)

// Store is an in-process session store. It implements [store.Store],
// [store.Versioned], [store.Scanner], [store.SetterAt], [store.LatestWriter]
// and [store.TombstoneReader] and is safe for concurrent use. The zero value is not usable; call [New]. Call
// [Store.Close] when done with it to stop its sweeper goroutine.
type Store struct {
	shards   []shard
	mask     uint64
	now      func() time.Time
	maxTTL   time.Duration
	shardCap int // per-shard entry bound; 0 = unbounded

	closed    atomic.Bool
	closeOnce sync.Once
	stop      chan struct{} // nil when no sweeper runs
	done      chan struct{}
}

// New returns an empty Store configured by opts. Invalid option values fall
// back to their documented defaults. Unless [WithSweepInterval] disables it,
// New starts a sweeper goroutine that runs until [Store.Close].
func New(opts ...Option) *Store {
	o := defaultOptions()
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	o.normalize()

	s := &Store{
		shards:   make([]shard, o.shards),
		mask:     uint64(o.shards - 1),
		now:      o.now,
		maxTTL:   o.maxTTL,
		shardCap: o.shardCapacity(),
	}
	for i := range s.shards {
		s.shards[i].m = make(map[string]entry)
	}
	if o.sweepInterval > 0 {
		s.stop = make(chan struct{})
		s.done = make(chan struct{})
		go s.sweepLoop(o.sweepInterval)
	}
	return s
}

// Close stops the sweeper, waits for it to exit and drops every stored entry.
// Afterwards every operation returns an error wrapping [store.ErrClosed].
// Close is idempotent and safe to call concurrently; it always returns nil.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if s.stop != nil {
			close(s.stop)
			<-s.done
		}
		for i := range s.shards {
			sh := &s.shards[i]
			sh.mu.Lock()
			sh.m = make(map[string]entry)
			sh.mu.Unlock()
		}
	})
	return nil
}

// Len returns the number of live sessions: unexpired records, not counting
// tombstones. It visits every entry under per-shard read locks, so it costs
// O(n); it is meant for heartbeats and metrics, not for request paths. Len
// returns 0 after Close.
func (s *Store) Len() int {
	nowMs := s.now().UnixMilli()
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		for _, e := range sh.m {
			if !e.tombstone && !e.expired(nowMs) {
				n++
			}
		}
		sh.mu.RUnlock()
	}
	return n
}

// Evictions returns how many unexpired records and tombstones have been
// evicted to honour [WithMaxEntries] since New. Every evicted record is a
// user logged out early, so a rising count means the bound is too low.
func (s *Store) Evictions() uint64 {
	var n uint64
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		n += sh.evictions
		sh.mu.RUnlock()
	}
	return n
}

// check reports why an operation must not run.
func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return ctx.Err()
}

func (s *Store) shardFor(id string) *shard {
	return &s.shards[xxhash.Sum64String(id)&s.mask]
}

// expiresMs converts an absolute expiry to truncated Unix milliseconds; the
// zero time means MaxTTL from now. Writers refuse expiries after
// store.MaxExpiresAt first; an instant before 1970 becomes the earliest
// millisecond, still in the past (UnixMilli would overflow for instants
// hundreds of millions of years away and could turn a delete into an
// immortal record).
func (s *Store) expiresMs(t, now time.Time) int64 {
	if t.IsZero() {
		return now.Add(s.maxTTL).UnixMilli()
	}
	if t.Unix() < 0 {
		return math.MinInt64
	}
	return t.UnixMilli()
}
