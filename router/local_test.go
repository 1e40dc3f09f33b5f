package router

import (
	"testing"

	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
)

// TestLocalWritesLocalOnly: stage local never writes the distributed store
// synchronously; a Set does not touch it at all.
func TestLocalWritesLocalOnly(t *testing.T) {
	f := newFixture(t, nil)
	r := Local(f.core)
	set(t, r, "a", rec("a"))
	f.flush()
	l, _ := get(t, f.local, "a")
	wantRecord(t, r, "Get", "a", "a", l.Version)
	if l.Version == 0 {
		t.Fatal("local record has version 0, want a stamped version")
	}
	if got := f.dist.TotalStats().Calls; got != 0 {
		t.Fatalf("distributed calls: got %d, want 0", got)
	}
	if got := f.core.Unsynced(); got != 0 {
		t.Fatalf("Unsynced: got %d, want 0", got)
	}
}

// TestLocalDeleteMirrored: a delete in stage local leaves a tombstone in the
// distributed store (off the request path), so an old distributed copy
// cannot come back when the migration resumes.
func TestLocalDeleteMirrored(t *testing.T) {
	f := newFixture(t, nil)
	dual, local := Dual(f.core), Local(f.core)
	set(t, dual, "a", rec("a")) // in both stores, as before a rollback
	old, _ := get(t, f.inner, "a")

	// The mirror must not run on the request path: a hanging distributed
	// store does not hold up the delete.
	if err := f.dist.SetFault(faultstore.Fault{Hang: true}, faultstore.OpDeleteVersion); err != nil {
		t.Fatal(err)
	}
	del(t, local, "a")
	wantMissing(t, local, "Get after Delete", "a")
	wantMissing(t, f.local, "local store", "a")
	f.dist.Reset()
	f.flush()

	wantMissing(t, f.inner, "distributed store", "a")
	wantTombstone(t, f.inner, "distributed store", "a", old.Version)
	if got := f.core.Unsynced(); got != 0 {
		t.Fatalf("Unsynced: got %d, want 0", got)
	}
}

// TestLocalAfterCompleteReturnsDistributedErrors: once the instance left
// complete (ForgetLocal), a session written at complete lives in the
// distributed store only; at local a distributed failure on its read is an
// error, not "not found" (a logout). Before that, local does not depend on
// the distributed store and a failure is a miss.
func TestLocalAfterCompleteReturnsDistributedErrors(t *testing.T) {
	f := newFixture(t, nil)
	set(t, Complete(f.core), "c", rec("written at complete"))
	r := Local(f.core)
	if err := f.dist.SetFault(faultstore.Fault{Outage: true}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := opCtx()
	defer cancel()
	if _, found, err := r.Get(ctx, "c"); err != nil || found {
		t.Fatalf("before leaving complete, a failure at local: found=%v err=%v, want a miss", found, err)
	}
	if _, err := f.core.ForgetLocal(ctx); err != nil {
		t.Fatal(err)
	}
	if _, found, err := r.Get(ctx, "c"); err == nil {
		t.Fatalf("after leaving complete, a failure at local: found=%v err=nil, want the error", found)
	}
	f.dist.Reset()
	if got, found := get(t, r, "c"); !found || string(got.Data) != "written at complete" {
		t.Fatalf("after the store healed: %q found=%v", got.Data, found)
	}
}
