package consistency_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/consistency"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
)

var expiry = time.Now().Add(time.Hour).Truncate(time.Millisecond)

// record builds a versioned record expiring in an hour.
func record(data string, version uint64) store.Record {
	return store.Record{Data: []byte(data), Version: version, ExpiresAt: expiry}
}

type result struct {
	kind      consistency.Kind
	confirmed bool
}

type mismatch struct {
	id   string
	kind consistency.Kind
}

// harness is a Checker over two memstores, each behind a faultstore whose
// call hook a test can set, recording every callback.
type harness struct {
	t          *testing.T
	checker    *consistency.Checker
	local      *memstore.Store // without faults or hooks
	dist       *memstore.Store
	localFS    *faultstore.Store
	distFS     *faultstore.Store
	localHook  atomic.Pointer[func(ctx context.Context, op faultstore.Op, id string)]
	distHook   atomic.Pointer[func(ctx context.Context, op faultstore.Op, id string)]
	inFlight   atomic.Pointer[func(id string) bool]
	mu         sync.Mutex
	results    []result
	mismatches []mismatch
	drops      atomic.Int64
	confirmed  chan mismatch // every OnMismatch, buffered
	finished   chan result   // every OnResult, buffered
}

func hooked(inner store.Store, h *atomic.Pointer[func(ctx context.Context, op faultstore.Op, id string)]) *faultstore.Store {
	return faultstore.New(inner, faultstore.WithSeed(1), faultstore.WithOnCall(func(ctx context.Context, op faultstore.Op, id string) {
		if fn := h.Load(); fn != nil {
			(*fn)(ctx, op, id)
		}
	}))
}

// newHarness starts a Checker (Delay 1ms unless edit changes it); t.Cleanup
// closes it and the stores.
func newHarness(t *testing.T, edit func(*consistency.Config)) *harness {
	t.Helper()
	h := &harness{t: t, confirmed: make(chan mismatch, 100), finished: make(chan result, 100)}
	h.local = memstore.New(memstore.WithSweepInterval(0))
	h.dist = memstore.New(memstore.WithSweepInterval(0))
	h.localFS = hooked(h.local, &h.localHook)
	h.distFS = hooked(h.dist, &h.distHook)
	cfg := consistency.Config{
		Local:       h.localFS,
		Distributed: h.distFS,
		Delay:       time.Millisecond,
		Timeout:     5 * time.Second,
		InFlight: func(id string) bool {
			fn := h.inFlight.Load()
			return fn != nil && (*fn)(id)
		},
		OnResult: func(kind consistency.Kind, confirmed bool) {
			h.mu.Lock()
			h.results = append(h.results, result{kind, confirmed})
			h.mu.Unlock()
			h.finished <- result{kind, confirmed}
		},
		OnMismatch: func(mm consistency.Mismatch) {
			h.mu.Lock()
			h.mismatches = append(h.mismatches, mismatch{mm.ID, mm.Kind})
			h.mu.Unlock()
			h.confirmed <- mismatch{mm.ID, mm.Kind}
		},
		OnDrop: func() { h.drops.Add(1) },
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := consistency.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.checker = c
	t.Cleanup(func() {
		h.localFS.Reset()
		h.distFS.Reset()
		h.close()
		h.local.Close()
		h.dist.Close()
	})
	return h
}

func (h *harness) close() {
	h.t.Helper()
	if err := h.checker.Close(); err != nil {
		h.t.Errorf("Close: %v", err)
	}
}

func setHook(p *atomic.Pointer[func(ctx context.Context, op faultstore.Op, id string)], fn func(ctx context.Context, op faultstore.Op, id string)) {
	p.Store(&fn)
}

func (h *harness) setInFlight(fn func(id string) bool) { h.inFlight.Store(&fn) }

// put writes rec under id into s, failing the test on an error.
func put(t *testing.T, s store.Store, id string, rec store.Record) {
	t.Helper()
	if err := s.Set(context.Background(), id, rec); err != nil {
		t.Fatalf("Set: %v", err)
	}
}

// offerCurrent offers local's current read of id, as a router would.
func (h *harness) offerCurrent(id string) {
	h.t.Helper()
	rec, found, err := h.local.Get(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	h.checker.Offer(id, rec, found)
}

// snapshot returns copies of the recorded callbacks.
func (h *harness) snapshot() ([]result, []mismatch) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]result(nil), h.results...), append([]mismatch(nil), h.mismatches...)
}

// waitResult waits for the next OnResult.
func (h *harness) waitResult() result {
	h.t.Helper()
	select {
	case r := <-h.finished:
		return r
	case <-time.After(5 * time.Second):
		h.t.Fatal("timed out waiting for a comparison result")
		return result{}
	}
}

// await waits until ch is closed, for at most 5 s.
func await(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// waitCalls waits until s has received n calls of op.
func waitCalls(t *testing.T, s *faultstore.Store, op faultstore.Op, n uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats(op).Calls < n {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %d %v calls (got %d)", n, op, s.Stats(op).Calls)
		}
		time.Sleep(time.Millisecond)
	}
}

// wantNoConfirmation closes the checker and fails if any mismatch was
// confirmed.
func (h *harness) wantNoConfirmation() {
	h.t.Helper()
	h.close()
	results, mismatches := h.snapshot()
	if len(mismatches) != 0 {
		h.t.Fatalf("OnMismatch: got %v, want no confirmed mismatch", mismatches)
	}
	for _, r := range results {
		if r.confirmed {
			h.t.Fatalf("OnResult: got confirmed %s, want none", r.kind)
		}
	}
}
