package router

import (
	"context"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
)

// TestShadowSetNeverWaitsForDistributed: with every distributed call
// hanging, Set returns, local has the write, and the distributed store gets
// it once it recovers.
func TestShadowSetNeverWaitsForDistributed(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.dist.SetFault(faultstore.Fault{Hang: true}); err != nil {
		t.Fatal(err)
	}
	r := Shadow(f.core)
	done := make(chan error, 1)
	go func() { done <- r.Set(context.Background(), "a", rec("a")) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Set: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Set blocked on the hanging distributed store")
	}
	l, _ := get(t, f.local, "a")
	wantRecord(t, r, "Get", "a", "a", l.Version)
	if !f.core.IsUnsynced("a") {
		t.Fatal("IsUnsynced: got false while the async write hangs, want true")
	}

	f.dist.Reset()
	f.flush()
	wantRecord(t, f.inner, "distributed store", "a", "a", l.Version)
}

// TestShadowDeleteAsync: a shadow delete is immediate locally and leaves a
// tombstone in the distributed store off the request path.
func TestShadowDeleteAsync(t *testing.T) {
	f := newFixture(t, nil)
	r := Shadow(f.core)
	set(t, r, "a", rec("a"))
	f.flush()
	old, _ := get(t, f.inner, "a")
	del(t, r, "a")
	wantMissing(t, r, "Get after Delete", "a")
	f.flush()
	wantTombstone(t, f.inner, "distributed store", "a", old.Version)
}

// TestShadowSamplesReads: one read in ShadowSample is offered for comparison.
func TestShadowSamplesReads(t *testing.T) {
	cmp := &recComparer{}
	f := newFixture(t, func(c *Config) { c.ShadowSample = 3; c.Compare = cmp })
	r := Shadow(f.core)
	set(t, f.local, "a", rec("a"))
	for range 9 {
		get(t, r, "a")
	}
	if got := cmp.len(); got != 3 {
		t.Fatalf("offers for 9 reads at ShadowSample 3: got %d, want 3", got)
	}
	if got := f.dist.Stats(faultstore.OpGet).Calls; got != 0 {
		t.Fatalf("distributed Gets on the read path: got %d, want 0", got)
	}
}
