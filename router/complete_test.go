package router

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
)

// TestCompleteReturnsErrors: in complete the distributed store is the
// source of truth, so its failures reach the caller.
func TestCompleteReturnsErrors(t *testing.T) {
	f := newFixture(t, nil)
	r := Complete(f.core)
	set(t, Dual(f.core), "a", rec("a"))
	if err := f.dist.SetFault(faultstore.Fault{Outage: true}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := r.Get(ctx, "a"); !errors.Is(err, faultstore.ErrInjected) {
		t.Errorf("Get: got %v, want the injected error", err)
	}
	if err := r.Set(ctx, "a", rec("b")); !errors.Is(err, faultstore.ErrInjected) {
		t.Errorf("Set: got %v, want the injected error", err)
	}
	if err := r.Delete(ctx, "a"); !errors.Is(err, faultstore.ErrInjected) {
		t.Errorf("Delete: got %v, want the injected error", err)
	}
	// A failed delete must not have removed the local copy either.
	if _, found := get(t, f.local, "a"); !found {
		t.Error("local copy gone after a failed complete Delete, want kept")
	}
}

// TestCompleteSetDistributedOnly: complete no longer writes local.
func TestCompleteSetDistributedOnly(t *testing.T) {
	f := newFixture(t, nil)
	r := Complete(f.core)
	set(t, r, "a", rec("a"))
	d, found := get(t, f.inner, "a")
	if !found {
		t.Fatal("distributed store: not found, want the record")
	}
	wantMissing(t, f.local, "local store", "a")
	wantRecord(t, r, "Get", "a", "a", d.Version)
}

// TestCompleteReadsDistributedOnly: complete serves the distributed copy
// whatever local holds, unless this instance tracks the session as unsynced
// (a write the distributed store never confirmed): then the newer of the
// local write and the distributed copy.
func TestCompleteReadsDistributedOnly(t *testing.T) {
	tests := []struct {
		name        string
		local, dist uint64 // 0: absent
		tracked     bool   // local's write is tracked as unsynced
		wantData    string // "" : not found
	}{
		{"distributed newer", 5, 7, false, "dist"},
		{"equal", 7, 7, false, "dist"},
		{"untracked newer local copy is not served", 7, 5, false, "dist"},
		{"untracked local only is not served", 7, 0, false, ""},
		{"distributed only", 0, 7, false, "dist"},
		{"neither", 0, 0, false, ""},
		{"unsynced local newer is served", 7, 5, true, "local"},
		{"unsynced local only is served", 7, 0, true, "local"},
		{"distributed newer than the unsynced write", 5, 7, true, "dist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.RepairInterval = time.Hour })
			r := Complete(f.core)
			if tt.local != 0 {
				set(t, f.local, "a", store.Record{Data: []byte("local"), Version: tt.local, ExpiresAt: epoch.Add(time.Hour)})
			}
			if tt.dist != 0 {
				set(t, f.inner, "a", store.Record{Data: []byte("dist"), Version: tt.dist, ExpiresAt: epoch.Add(time.Hour)})
			}
			if tt.tracked {
				f.core.markSet("a", tt.local, false)
			}
			got, found := get(t, r, "a")
			if tt.wantData == "" {
				if found {
					t.Fatalf("Get: got %q, want not found", got.Data)
				}
				return
			}
			if !found || string(got.Data) != tt.wantData {
				t.Fatalf("Get: got %q (found %v), want %q", got.Data, found, tt.wantData)
			}
		})
	}
}

// TestCompleteDistributedLossIsNotPapered: when the distributed store loses
// a session at complete, the old local copy is not served (it may be older
// than the last write, made through another instance).
func TestCompleteDistributedLossIsNotPapered(t *testing.T) {
	f := newFixture(t, nil)
	set(t, Dual(f.core), "a", rec("before complete"))
	r := Complete(f.core)
	set(t, r, "a", rec("at complete"))
	if err := f.inner.Delete(context.Background(), "a"); err != nil { // FLUSHALL
		t.Fatal(err)
	}
	wantMissing(t, r, "Get after the distributed store lost the session", "a")
}

// TestCompleteTrackedDeleteHides: a delete the distributed store has not
// applied (made before complete) hides its distributed copy.
func TestCompleteTrackedDeleteHides(t *testing.T) {
	f := newFixture(t, nil)
	set(t, Dual(f.core), "a", rec("a"))
	if err := f.dist.SetFault(faultstore.Fault{Outage: true}, faultstore.OpDeleteVersion); err != nil {
		t.Fatal(err)
	}
	del(t, Dual(f.core), "a") // tracked: the distributed copy is still there
	if _, found := get(t, f.inner, "a"); !found {
		t.Fatal("setup: distributed copy gone, want it still there")
	}
	r := Complete(f.core)
	wantMissing(t, r, "Get", "a")
	wantFallbacks(t, f, map[Reason]int{ReasonDirty: 1})
}

// TestCompleteLeavesLocalAlone: complete neither writes nor deletes local:
// a delete leaves a tombstone in the distributed store (above the version
// there), and the stale local copy is never served.
func TestCompleteLeavesLocalAlone(t *testing.T) {
	f := newFixture(t, nil)
	set(t, Dual(f.core), "a", rec("a"))
	old, _ := get(t, f.local, "a")
	r := Complete(f.core)
	del(t, r, "a")
	wantMissing(t, r, "Get", "a")
	wantRecord(t, f.local, "local store", "a", "a", old.Version)
	d, _, _ := f.inner.Get(context.Background(), "a")
	if d.Version != 0 {
		t.Fatalf("distributed store: got a record at %d, want a tombstone", d.Version)
	}
	wantTombstone(t, f.inner, "distributed store", "a", old.Version+1)
}
