package memstore

import (
	"testing"
	"time"
)

func TestOptions(t *testing.T) {
	cases := []struct {
		name          string
		opts          []Option
		wantShards    int
		wantMaxTTL    time.Duration
		wantShardCap  int
		wantSweeping  bool
		wantFakeClock bool
	}{
		{"defaults", nil, DefaultShards, DefaultMaxTTL, 0, true, false},
		{"nil option ignored", []Option{nil}, DefaultShards, DefaultMaxTTL, 0, true, false},
		{"zero shards", []Option{WithShards(0)}, DefaultShards, DefaultMaxTTL, 0, true, false},
		{"negative shards", []Option{WithShards(-3)}, DefaultShards, DefaultMaxTTL, 0, true, false},
		{"one shard", []Option{WithShards(1)}, 1, DefaultMaxTTL, 0, true, false},
		{"shards rounded up", []Option{WithShards(3)}, 4, DefaultMaxTTL, 0, true, false},
		{"shards just over a power of two", []Option{WithShards(65)}, 128, DefaultMaxTTL, 0, true, false},
		{"shards capped", []Option{WithShards(1 << 20)}, MaxShards, DefaultMaxTTL, 0, true, false},
		{"max TTL", []Option{WithMaxTTL(time.Minute)}, DefaultShards, time.Minute, 0, true, false},
		{"zero max TTL", []Option{WithMaxTTL(0)}, DefaultShards, DefaultMaxTTL, 0, true, false},
		{"negative max TTL", []Option{WithMaxTTL(-time.Hour)}, DefaultShards, DefaultMaxTTL, 0, true, false},
		{"max entries split over shards", []Option{WithShards(8), WithMaxEntries(100)}, 8, DefaultMaxTTL, 13, true, false},
		{"max entries below shard count", []Option{WithMaxEntries(10)}, DefaultShards, DefaultMaxTTL, 1, true, false},
		{"negative max entries", []Option{WithMaxEntries(-1)}, DefaultShards, DefaultMaxTTL, 0, true, false},
		{"sweeper disabled", []Option{WithSweepInterval(0)}, DefaultShards, DefaultMaxTTL, 0, false, false},
		{"fake clock", []Option{WithClock(newFakeClock().Now)}, DefaultShards, DefaultMaxTTL, 0, true, true},
		{"nil clock", []Option{WithClock(newFakeClock().Now), WithClock(nil)}, DefaultShards, DefaultMaxTTL, 0, true, false},
		{"later option wins", []Option{WithMaxTTL(time.Minute), WithMaxTTL(time.Hour)}, DefaultShards, time.Hour, 0, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t, tc.opts...)
			if got := len(s.shards); got != tc.wantShards {
				t.Errorf("shards = %d, want %d", got, tc.wantShards)
			}
			if s.maxTTL != tc.wantMaxTTL {
				t.Errorf("maxTTL = %v, want %v", s.maxTTL, tc.wantMaxTTL)
			}
			if s.shardCap != tc.wantShardCap {
				t.Errorf("per-shard capacity = %d, want %d", s.shardCap, tc.wantShardCap)
			}
			if got := s.stop != nil; got != tc.wantSweeping {
				t.Errorf("sweeper running = %v, want %v", got, tc.wantSweeping)
			}
			// The fake clock stands in 2030; the real one does not.
			if got := s.now().Year() == 2030; got != tc.wantFakeClock {
				t.Errorf("clock reads %v, want fake clock = %v", s.now(), tc.wantFakeClock)
			}
		})
	}
}

// TestMaxTTLApplied: a zero ExpiresAt becomes now plus the configured MaxTTL.
func TestMaxTTLApplied(t *testing.T) {
	clock := newFakeClock()
	s := newTestStore(t, WithClock(clock.Now), WithMaxTTL(-1)) // invalid: falls back to 24h
	if err := s.Set(t.Context(), "id", rec("x", time.Time{}, 0)); err != nil {
		t.Fatal(err)
	}
	got, _, _ := s.Get(t.Context(), "id")
	if want := clock.Now().Add(DefaultMaxTTL).Truncate(time.Millisecond); !got.ExpiresAt.Equal(want) {
		t.Fatalf("ExpiresAt = %v, want %v", got.ExpiresAt, want)
	}
}
