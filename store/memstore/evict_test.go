package memstore

import (
	"fmt"
	"testing"
	"time"
)

// TestEvictionPolicy uses one shard of three entries, so the sample of five
// sees every entry and the choice is deterministic.
func TestEvictionPolicy(t *testing.T) {
	type seed struct {
		id        string
		ttl       time.Duration
		tombstone bool
	}
	cases := []struct {
		name          string
		seed          []seed
		advance       time.Duration // before the write that needs room
		write         func(t *testing.T, s *Store, now time.Time) error
		wantGone      string // "" when nothing may be evicted
		wantEvictions uint64
	}{
		{
			name:          "soonest-expiring record",
			seed:          []seed{{"a", 10 * time.Minute, false}, {"b", 5 * time.Minute, false}, {"c", 20 * time.Minute, false}},
			write:         setNew,
			wantGone:      "b",
			wantEvictions: 1,
		},
		{
			name:          "tombstone before an earlier-expiring record",
			seed:          []seed{{"a", time.Minute, false}, {"t", time.Hour, true}, {"c", 20 * time.Minute, false}},
			write:         setNew,
			wantGone:      "t",
			wantEvictions: 1,
		},
		{
			name:          "soonest-expiring tombstone",
			seed:          []seed{{"t1", time.Hour, true}, {"t2", 30 * time.Minute, true}, {"a", time.Minute, false}},
			write:         setNew,
			wantGone:      "t2",
			wantEvictions: 1,
		},
		{
			name:          "expired entry first, not counted",
			seed:          []seed{{"a", 10 * time.Minute, false}, {"b", time.Minute, false}, {"t", time.Hour, true}},
			advance:       2 * time.Minute,
			write:         setNew,
			wantGone:      "b",
			wantEvictions: 0,
		},
		{
			name: "tombstone on a new id needs room too",
			seed: []seed{{"a", 10 * time.Minute, false}, {"b", 5 * time.Minute, false}, {"c", 20 * time.Minute, false}},
			write: func(t *testing.T, s *Store, now time.Time) error {
				return s.DeleteVersion(t.Context(), "new", 1, time.Time{})
			},
			wantGone:      "b",
			wantEvictions: 1,
		},
		{
			name: "overwrite needs no room",
			seed: []seed{{"a", 10 * time.Minute, false}, {"b", 5 * time.Minute, false}, {"c", 20 * time.Minute, false}},
			write: func(t *testing.T, s *Store, now time.Time) error {
				return s.Set(t.Context(), "a", rec("again", now.Add(time.Hour), 0))
			},
		},
		{
			name: "past-expiry Set of a new id needs no room",
			seed: []seed{{"a", 10 * time.Minute, false}, {"b", 5 * time.Minute, false}, {"c", 20 * time.Minute, false}},
			write: func(t *testing.T, s *Store, now time.Time) error {
				return s.Set(t.Context(), "new", rec("past", now.Add(-time.Second), 0))
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			s := newTestStore(t, WithClock(clock.Now), WithShards(1), WithMaxEntries(3), WithSweepInterval(0))
			ctx := t.Context()
			for _, e := range tc.seed {
				var err error
				if e.tombstone {
					err = s.DeleteVersion(ctx, e.id, 1, clock.Now().Add(e.ttl))
				} else {
					err = s.Set(ctx, e.id, rec(e.id, clock.Now().Add(e.ttl), 0))
				}
				if err != nil {
					t.Fatalf("seeding %s: %v", e.id, err)
				}
			}
			clock.Advance(tc.advance)
			if err := tc.write(t, s, clock.Now()); err != nil {
				t.Fatalf("write: %v", err)
			}
			for _, e := range tc.seed {
				s.shards[0].mu.RLock()
				_, present := s.shards[0].m[e.id]
				s.shards[0].mu.RUnlock()
				if want := e.id != tc.wantGone; present != want {
					t.Errorf("%s present = %v, want %v", e.id, present, want)
				}
			}
			if got := s.rawLen(); got > 3 {
				t.Errorf("entries = %d, want at most 3", got)
			}
			if got := s.Evictions(); got != tc.wantEvictions {
				t.Errorf("Evictions() = %d, want %d", got, tc.wantEvictions)
			}
		})
	}
}

func setNew(t *testing.T, s *Store, now time.Time) error {
	return s.Set(t.Context(), "new", rec("new", now.Add(time.Hour), 0))
}

// TestMaxEntriesBound checks the documented bound, shards*ceil(n/shards),
// and that every id beyond it was counted as an eviction.
func TestMaxEntriesBound(t *testing.T) {
	cases := []struct {
		shards, maxEntries, wantBound int
	}{
		{1, 10, 10},
		{4, 100, 100},
		{64, 100, 128},
		{8, 1000, 1000},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%d shards, max %d", tc.shards, tc.maxEntries), func(t *testing.T) {
			s := newTestStore(t, WithShards(tc.shards), WithMaxEntries(tc.maxEntries))
			const writes = 5000
			for i := range writes {
				if err := s.Set(t.Context(), fmt.Sprintf("id-%d", i), rec("x", time.Now().Add(time.Hour), 0)); err != nil {
					t.Fatal(err)
				}
				if got := s.rawLen(); got > tc.wantBound {
					t.Fatalf("after %d writes: entries = %d, want at most %d", i+1, got, tc.wantBound)
				}
			}
			if got, want := s.Evictions(), uint64(writes-s.rawLen()); got != want {
				t.Errorf("Evictions() = %d, want %d (writes minus entries kept)", got, want)
			}
		})
	}
}
