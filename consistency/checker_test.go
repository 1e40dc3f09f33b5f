package consistency_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/consistency"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
)

func TestNewValidates(t *testing.T) {
	s := memstore.New(memstore.WithSweepInterval(0))
	defer s.Close()
	tests := []struct {
		name string
		cfg  consistency.Config
	}{
		{"no local", consistency.Config{Distributed: s}},
		{"no distributed", consistency.Config{Local: s}},
		{"negative queue", consistency.Config{Local: s, Distributed: s, Queue: -1}},
		{"negative delay", consistency.Config{Local: s, Distributed: s, Delay: -1}},
		{"negative timeout", consistency.Config{Local: s, Distributed: s, Timeout: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := consistency.New(tt.cfg); err == nil {
				c.Close()
				t.Fatal("New: got nil error, want an error")
			}
		})
	}
}

// TestCheckerMatch: an equal pair is reported as a match without a
// re-check.
func TestCheckerMatch(t *testing.T) {
	h := newHarness(t, nil)
	put(t, h.local, "a", record("x", 5))
	put(t, h.dist, "a", record("x", 5))
	h.offerCurrent("a")
	if got := h.waitResult(); got != (result{consistency.Match, false}) {
		t.Fatalf("OnResult: got %+v, want match", got)
	}
	if got := h.localFS.Stats(faultstore.OpGet).Calls; got != 0 {
		t.Fatalf("local reads: got %d, want 0 (no re-check for a match)", got)
	}
	h.wantNoConfirmation()
}

// TestCheckerConfirmsPersistingMismatch: a mismatch still there at the
// re-check is confirmed exactly once, with its kind.
func TestCheckerConfirmsPersistingMismatch(t *testing.T) {
	tests := []struct {
		name        string
		local, dist *store.Record
		want        consistency.Kind
	}{
		{"missing", ptr(record("x", 5)), nil, consistency.Missing},
		{"stale", ptr(record("new", 5)), ptr(record("old", 4)), consistency.Stale},
		{"extra", nil, ptr(record("x", 5)), consistency.Extra},
		{"data", ptr(record("x", 5)), ptr(record("y", 5)), consistency.Data},
		{"expiry", ptr(record("x", 5)), ptr(store.Record{Data: []byte("x"), Version: 5, ExpiresAt: expiry.Add(time.Second)}), consistency.Expiry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			if tt.local != nil {
				put(t, h.local, "a", *tt.local)
			}
			if tt.dist != nil {
				put(t, h.dist, "a", *tt.dist)
			}
			h.offerCurrent("a")
			select {
			case <-h.confirmed:
			case <-time.After(5 * time.Second):
				t.Fatal("timed out waiting for the confirmation")
			}
			h.close() // no further callback can arrive
			results, mismatches := h.snapshot()
			if want := []mismatch{{"a", tt.want}}; !slices.Equal(mismatches, want) {
				t.Fatalf("OnMismatch calls: got %v, want %v", mismatches, want)
			}
			if want := []result{{tt.want, true}}; !slices.Equal(results, want) {
				t.Fatalf("OnResult calls: got %v, want %v", results, want)
			}
		})
	}
}

// TestCheckerSkipsInFlight: a session with a distributed write in flight is
// never confirmed, whichever step of the comparison sees it in flight.
func TestCheckerSkipsInFlight(t *testing.T) {
	// The checker asks InFlight before the first read, before the re-check
	// and after the re-check's reads.
	for _, from := range []int64{1, 2, 3} {
		t.Run([]string{"", "at the offer", "at the re-check", "after the re-check reads"}[from], func(t *testing.T) {
			h := newHarness(t, nil)
			put(t, h.local, "a", record("new", 5))
			put(t, h.dist, "a", record("old", 4))
			var calls atomic.Int64
			asked := make(chan struct{}, 10)
			h.setInFlight(func(string) bool {
				n := calls.Add(1)
				asked <- struct{}{}
				return n >= from
			})
			h.offerCurrent("a")
			for range from {
				select {
				case <-asked:
				case <-time.After(5 * time.Second):
					t.Fatal("timed out waiting for the InFlight call")
				}
			}
			h.wantNoConfirmation()
			if from == 1 {
				if got := h.distFS.Stats(faultstore.OpGet).Calls; got != 0 {
					t.Fatalf("distributed reads for an in-flight session: got %d, want 0", got)
				}
			}
		})
	}
}

// TestCheckerFixedBeforeRecheck: a mismatch gone by the re-check is a
// match, not a confirmation.
func TestCheckerFixedBeforeRecheck(t *testing.T) {
	h := newHarness(t, nil)
	put(t, h.local, "a", record("new", 5))
	put(t, h.dist, "a", record("old", 4))
	var once atomic.Bool
	// The re-check starts with a local read: the repair lands just before.
	setHook(&h.localHook, func(_ context.Context, op faultstore.Op, _ string) {
		if op == faultstore.OpGet && once.CompareAndSwap(false, true) {
			put(t, h.dist, "a", record("new", 5))
		}
	})
	h.offerCurrent("a")
	if got := h.waitResult(); got != (result{consistency.Match, false}) {
		t.Fatalf("OnResult: got %+v, want an unconfirmed match", got)
	}
	h.wantNoConfirmation()
}

// TestCheckerWriteDuringRecheck: a write landing between the re-check's
// reads makes it inconclusive, whether the distributed half of the write
// has landed too or not.
func TestCheckerWriteDuringRecheck(t *testing.T) {
	for _, both := range []bool{true, false} {
		t.Run(map[bool]string{true: "local and distributed", false: "local half only"}[both], func(t *testing.T) {
			h := newHarness(t, nil)
			put(t, h.local, "a", record("v5", 5))
			put(t, h.dist, "a", record("v4", 4))
			var distGets atomic.Int64
			// The first distributed read is the first check; the second is
			// the re-check's, between its two local reads.
			setHook(&h.distHook, func(_ context.Context, op faultstore.Op, _ string) {
				if op == faultstore.OpGet && distGets.Add(1) == 2 {
					put(t, h.local, "a", record("v6", 6))
					if both {
						put(t, h.dist, "a", record("v6", 6))
					}
				}
			})
			h.offerCurrent("a")
			waitCalls(t, h.localFS, faultstore.OpGet, 2) // both local reads of the re-check
			h.wantNoConfirmation()
		})
	}
}

// TestCheckerWriteInProgressAtRecheck: routers write local before the
// distributed store. A write whose local half landed just before the
// re-check and whose distributed half has not landed yet looks like a stale
// copy to the re-check's reads; it must not be confirmed (a confirmed stale
// copy trips the guard).
func TestCheckerWriteInProgressAtRecheck(t *testing.T) {
	h := newHarness(t, nil)
	// The request read v4, then wrote v5 to both stores: the first check
	// sees a newer distributed copy and schedules a re-check.
	put(t, h.local, "a", record("v5", 5))
	put(t, h.dist, "a", record("v5", 5))
	var once atomic.Bool
	setHook(&h.localHook, func(_ context.Context, op faultstore.Op, _ string) {
		// The next request's write, local half only, as the re-check starts.
		if op == faultstore.OpGet && once.CompareAndSwap(false, true) {
			put(t, h.local, "a", record("v6", 6))
		}
	})
	h.checker.Offer("a", record("v4", 4), true)
	waitCalls(t, h.localFS, faultstore.OpGet, 2)
	h.wantNoConfirmation()
}

// TestCheckerOfferNeverBlocks: with the checker stuck on a distributed read
// and its queue full, Offer returns at once and reports the drop.
func TestCheckerOfferNeverBlocks(t *testing.T) {
	h := newHarness(t, func(c *consistency.Config) { c.Queue = 2 })
	entered, release := make(chan struct{}), make(chan struct{})
	var once atomic.Bool
	setHook(&h.distHook, func(ctx context.Context, op faultstore.Op, _ string) {
		if op == faultstore.OpGet && once.CompareAndSwap(false, true) {
			close(entered)
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
	})
	defer close(release)
	h.checker.Offer("a", record("x", 1), true)
	await(t, entered, "the first distributed read") // the checker holds "a"
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, id := range []string{"b", "c", "d", "e"} {
			h.checker.Offer(id, record("x", 1), true)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Offer blocked on a full queue")
	}
	if got := h.drops.Load(); got != 2 {
		t.Fatalf("OnDrop: got %d for 4 offers into a queue of 2, want 2", got)
	}
}

// TestCheckerOfferCopiesData: the caller may reuse its buffer after Offer.
func TestCheckerOfferCopiesData(t *testing.T) {
	h := newHarness(t, nil)
	put(t, h.dist, "a", record("x", 1))
	entered, release := make(chan struct{}), make(chan struct{})
	var once atomic.Bool
	setHook(&h.distHook, func(ctx context.Context, _ faultstore.Op, _ string) {
		if once.CompareAndSwap(false, true) {
			close(entered)
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
	})
	buf := []byte("x")
	h.checker.Offer("a", store.Record{Data: buf, Version: 1, ExpiresAt: expiry}, true)
	await(t, entered, "the first distributed read")
	buf[0] = 'y'
	close(release)
	if got := h.waitResult(); got != (result{consistency.Match, false}) {
		t.Fatalf("OnResult: got %+v, want a match (the offered bytes were copied)", got)
	}
}

// TestCheckerCloseStops: Close returns promptly while a re-check waits for
// its delay or a distributed read hangs, and stops every goroutine (see
// TestMain).
func TestCheckerCloseStops(t *testing.T) {
	t.Run("re-check waiting", func(t *testing.T) {
		h := newHarness(t, func(c *consistency.Config) { c.Delay = time.Hour })
		put(t, h.local, "a", record("x", 5))
		h.offerCurrent("a") // missing: a re-check in an hour
		waitCalls(t, h.distFS, faultstore.OpGet, 1)
		closeWithin(t, h, 5*time.Second)
	})
	t.Run("distributed read hanging", func(t *testing.T) {
		h := newHarness(t, func(c *consistency.Config) { c.Timeout = time.Minute })
		if err := h.distFS.SetFault(faultstore.Fault{Hang: true}, faultstore.OpGet); err != nil {
			t.Fatal(err)
		}
		h.checker.Offer("a", record("x", 5), true)
		waitCalls(t, h.distFS, faultstore.OpGet, 1)
		closeWithin(t, h, 5*time.Second)
	})
	t.Run("twice", func(t *testing.T) {
		h := newHarness(t, nil)
		h.close()
		h.close()
	})
}

func closeWithin(t *testing.T, h *harness, d time.Duration) {
	t.Helper()
	start := time.Now()
	h.close()
	if took := time.Since(start); took > d {
		t.Fatalf("Close took %v, want under %v", took, d)
	}
}

func ptr[T any](v T) *T { return &v }
