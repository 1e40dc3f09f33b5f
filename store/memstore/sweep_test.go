package memstore

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

// fillForSweep stores a record and a tombstone expiring in a minute and a
// record and a tombstone expiring in an hour.
func fillForSweep(t *testing.T, s *Store, now time.Time) {
	t.Helper()
	ctx := t.Context()
	for _, err := range []error{
		s.Set(ctx, "record-1m", rec("a", now.Add(time.Minute), 1)),
		s.Set(ctx, "record-1h", rec("b", now.Add(time.Hour), 1)),
		s.DeleteVersion(ctx, "tombstone-1m", 3, now.Add(time.Minute)),
		s.DeleteVersion(ctx, "tombstone-1h", 3, now.Add(time.Hour)),
	} {
		if err != nil {
			t.Fatalf("filling store: %v", err)
		}
	}
}

func TestSweep(t *testing.T) {
	cases := []struct {
		name        string
		advance     time.Duration
		wantRemoved int
	}{
		{"nothing expired", 0, 0},
		{"one millisecond before expiry", time.Minute - time.Millisecond, 0},
		{"at expiry", time.Minute, 2},
		{"everything expired", time.Hour, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			s := newTestStore(t, WithClock(clock.Now), WithSweepInterval(0))
			fillForSweep(t, s, clock.Now())
			clock.Advance(tc.advance)
			if got := s.Sweep(); got != tc.wantRemoved {
				t.Errorf("Sweep() = %d, want %d", got, tc.wantRemoved)
			}
			if got, want := s.rawLen(), 4-tc.wantRemoved; got != want {
				t.Errorf("entries after Sweep = %d, want %d", got, want)
			}
			if got := s.Sweep(); got != 0 {
				t.Errorf("second Sweep() = %d, want 0", got)
			}
		})
	}
}

// TestSweepKeepsTombstoneSemantics: sweeping must not drop a live tombstone,
// or an older write could resurrect the session.
func TestSweepKeepsTombstoneSemantics(t *testing.T) {
	clock := newFakeClock()
	s := newTestStore(t, WithClock(clock.Now), WithSweepInterval(0))
	ctx := t.Context()
	if err := s.DeleteVersion(ctx, "id", 5, clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	s.Sweep()
	if err := s.Set(ctx, "id", rec("old", clock.Now().Add(time.Hour), 4)); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s.Get(ctx, "id"); found {
		t.Fatal("Get after Sweep and an older Set: found = true, want false (tombstone kept)")
	}
}

func TestSweeperRuns(t *testing.T) {
	clock := newFakeClock()
	s := newTestStore(t, WithClock(clock.Now), WithSweepInterval(time.Millisecond))
	fillForSweep(t, s, clock.Now())
	clock.Advance(time.Hour)
	deadline := time.Now().Add(5 * time.Second)
	for s.rawLen() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("entries = %d 5s after everything expired, want 0 (sweeper not running?)", s.rawLen())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSweeperDisabled(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second} {
		t.Run(d.String(), func(t *testing.T) {
			clock := newFakeClock()
			s := newTestStore(t, WithClock(clock.Now), WithSweepInterval(d))
			if s.stop != nil {
				t.Fatalf("WithSweepInterval(%v) started a sweeper, want none", d)
			}
			goleak.VerifyNone(t)
			fillForSweep(t, s, clock.Now())
			clock.Advance(time.Hour)
			if got := s.rawLen(); got != 4 {
				t.Errorf("entries without sweeper = %d, want 4 (expired, unswept)", got)
			}
			if got := s.Len(); got != 0 {
				t.Errorf("Len() = %d, want 0: expired records are not live", got)
			}
		})
	}
}
