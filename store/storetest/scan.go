package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

var scanTests = []test{
	{"Empty", testScanEmpty},
	{"ListsExactlyLiveSessions", testScanLive},
	{"DataBelongsToCallback", testScanDataOwned},
	{"StopScan", testScanStop},
	{"CallbackErrorUnwrapped", testScanCallbackError},
	{"CanceledBeforeScan", testScanCanceledBefore},
	{"CanceledDuringScan", testScanCanceledDuring},
}

// scan runs Scan with fn, failing the test if fn is ever called concurrently
// or twice for one id. It returns Scan's error and how often fn ran.
func (h *harness) scan(ctx context.Context, fn func(id string, rec store.Record) error) (int, error) {
	h.Helper()
	sc := h.scanner()
	var inFlight atomic.Int32
	seen := make(map[string]bool)
	calls := 0
	err := sc.Scan(ctx, func(id string, rec store.Record) error {
		if inFlight.Add(1) != 1 {
			h.Errorf("Scan called fn concurrently; want one call at a time")
		}
		defer inFlight.Add(-1)
		if seen[id] {
			h.Errorf("Scan visited %s twice; want once", label(id))
		}
		seen[id] = true
		calls++
		return fn(id, rec)
	})
	return calls, err
}

// populate stores n live, versioned records.
func (h *harness) populate(n int) {
	h.Helper()
	for i := range n {
		h.set(fmt.Sprintf("id-%03d", i), h.rec("data", time.Hour, uint64(i+1)))
	}
}

func testScanEmpty(h *harness) {
	calls, err := h.scan(h.ctx, func(string, store.Record) error { return nil })
	if err != nil {
		h.Fatalf("Scan(empty store) = %v, want nil", err)
	}
	if calls != 0 {
		h.Fatalf("Scan(empty store) called fn %d times, want 0", calls)
	}
}

// testScanLive: Scan visits live records (with their data, expiry and
// version) and nothing else: not expired, deleted, past-expiry or
// tombstoned ids.
func testScanLive(h *harness) {
	h.scanner()
	v, versioned := h.s.(store.Versioned)

	// First the record that must expire, so the real-time wait is short.
	short := h.rec("expires", shortTTL, 0)
	h.set("expired", short)
	h.expire("expired", short)

	// Versions only mean something to a Versioned store.
	version := func(n uint64) uint64 {
		if versioned {
			return n
		}
		return 0
	}
	want := map[string]store.Record{
		"plain":     h.rec("plain", time.Hour, 0),
		"versioned": h.rec("versioned", 2*time.Hour, version(7)),
		"empty":     {Data: []byte{}, ExpiresAt: h.now().Add(time.Hour)},
	}
	for i, tc := range oddIDs {
		want[tc.id] = h.oddRecord(i)
	}
	for id, rec := range want {
		h.set(id, rec)
	}
	h.set("overwritten", h.rec("first", time.Hour, version(1)))
	want["overwritten"] = h.rec("second", 3*time.Hour, version(2))
	h.set("overwritten", want["overwritten"])

	h.set("deleted", h.rec("deleted", time.Hour, 0))
	h.del("deleted")
	h.set("past", h.rec("past", -time.Second, 0))
	if versioned {
		h.set("tombstoned", h.rec("tombstoned", time.Hour, 3))
		if err := v.DeleteVersion(h.ctx, "tombstoned", 3, h.now().Add(time.Hour)); err != nil {
			h.Fatalf("DeleteVersion = %v, want nil", err)
		}
		if err := v.DeleteVersion(h.ctx, "tombstone-only", 9, h.now().Add(time.Hour)); err != nil {
			h.Fatalf("DeleteVersion = %v, want nil", err)
		}
	}

	got := make(map[string]store.Record)
	if _, err := h.scan(h.ctx, func(id string, rec store.Record) error {
		got[id] = rec
		return nil
	}); err != nil {
		h.Fatalf("Scan = %v, want nil", err)
	}
	for id, rec := range got {
		w, ok := want[id]
		if !ok {
			h.Errorf("Scan visited %s (record %s), want it not visited", label(id), describe(rec))
			continue
		}
		checkRecord(h.T, "Scan record "+label(id), rec, w)
	}
	for id := range want {
		if _, ok := got[id]; !ok {
			h.Errorf("Scan did not visit %s, want it visited", label(id))
		}
	}
}

func testScanDataOwned(h *harness) {
	want := h.rec("original", time.Hour, 0)
	h.set("id", want)
	if _, err := h.scan(h.ctx, func(_ string, rec store.Record) error {
		copy(rec.Data, "MUTATED!")
		return nil
	}); err != nil {
		h.Fatalf("Scan = %v, want nil", err)
	}
	h.mustGet("id", want)
}

func testScanStop(h *harness) {
	h.populate(20)
	calls, err := h.scan(h.ctx, func(string, store.Record) error { return store.ErrStopScan })
	if err != nil {
		h.Fatalf("Scan with fn returning ErrStopScan = %v, want nil", err)
	}
	if calls != 1 {
		h.Fatalf("Scan called fn %d times after it returned ErrStopScan, want 1 call", calls)
	}
}

func testScanCallbackError(h *harness) {
	h.populate(20)
	sentinel := errors.New("storetest: callback failed")
	calls, err := h.scan(h.ctx, func(string, store.Record) error { return sentinel })
	// Identity, not errors.Is: the contract is "returned unwrapped".
	if err != sentinel {
		h.Fatalf("Scan with failing fn = %v, want the callback's error itself, unwrapped", err)
	}
	if calls != 1 {
		h.Fatalf("Scan called fn %d times after it failed, want 1 call", calls)
	}
}

func testScanCanceledBefore(h *harness) {
	h.populate(20)
	ctx, cancel := context.WithCancel(h.ctx)
	cancel()
	calls, err := h.scan(ctx, func(string, store.Record) error { return nil })
	if !errors.Is(err, context.Canceled) {
		h.Fatalf("Scan(canceled ctx) = %v, want an error wrapping context.Canceled", err)
	}
	if calls != 0 {
		h.Fatalf("Scan(canceled ctx) called fn %d times, want 0", calls)
	}
}

// testScanCanceledDuring: once ctx is canceled, Scan calls fn no more (check
// ctx.Err() before each call, not only between batches).
func testScanCanceledDuring(h *harness) {
	h.populate(50)
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	calls, err := h.scan(ctx, func(string, store.Record) error {
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		h.Fatalf("Scan canceled by fn = %v, want an error wrapping context.Canceled", err)
	}
	if calls != 1 {
		h.Fatalf("Scan called fn %d times, want 1 (no call after ctx was canceled)", calls)
	}
}
