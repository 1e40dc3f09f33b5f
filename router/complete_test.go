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

// TestCompleteNewestWins: a read serves the newest copy between local and
// the distributed store.
func TestCompleteNewestWins(t *testing.T) {
	tests := []struct {
		name                  string
		local, dist           uint64 // 0: absent
		wantData              string // "" : not found
		wantFallback          Reason
		wantDistAfter         uint64
		wantDistDataAfterRead string
	}{
		{"distributed newer", 5, 7, "dist", "", 7, "dist"},
		{"equal", 7, 7, "dist", "", 7, "dist"},
		{"local newer is served and repaired", 7, 5, "local", ReasonStale, 7, "local"},
		{"local only is served and copied", 7, 0, "local", ReasonMissing, 7, "local"},
		{"distributed only", 0, 7, "dist", "", 7, "dist"},
		{"neither", 0, 0, "", "", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			r := Complete(f.core)
			if tt.local != 0 {
				set(t, f.local, "a", store.Record{Data: []byte("local"), Version: tt.local, ExpiresAt: epoch.Add(time.Hour)})
			}
			if tt.dist != 0 {
				set(t, f.inner, "a", store.Record{Data: []byte("dist"), Version: tt.dist, ExpiresAt: epoch.Add(time.Hour)})
			}
			got, found := get(t, r, "a")
			if tt.wantData == "" {
				if found {
					t.Fatalf("Get: got %q, want not found", got.Data)
				}
			} else if !found || string(got.Data) != tt.wantData {
				t.Fatalf("Get: got %q (found %v), want %q", got.Data, found, tt.wantData)
			}
			want := map[Reason]int{}
			if tt.wantFallback != "" {
				want[tt.wantFallback] = 1
			}
			wantFallbacks(t, f, want)
			f.flush()
			if tt.wantDistAfter != 0 {
				wantRecord(t, f.inner, "distributed store after the read", "a", tt.wantDistDataAfterRead, tt.wantDistAfter)
			}
		})
	}
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

// TestCompleteDeleteClearsLocal: a complete delete also removes (and
// tombstones) the local copy, so a forced rollback cannot bring it back.
func TestCompleteDeleteClearsLocal(t *testing.T) {
	f := newFixture(t, nil)
	set(t, Dual(f.core), "a", rec("a"))
	old, _ := get(t, f.local, "a")
	r := Complete(f.core)
	del(t, r, "a")
	wantMissing(t, r, "Get", "a")
	wantMissing(t, f.local, "local store", "a")
	wantTombstone(t, f.local, "local store", "a", old.Version)
	wantTombstone(t, f.inner, "distributed store", "a", old.Version)
	wantMissing(t, Local(f.core), "Get after a rollback to local", "a")
}
