package router

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
)

const rampCut = 5000 // Cut(50)

func newRamp(t *testing.T, f *fixture) store.Store {
	t.Helper()
	r, err := Ramp(f.core, 50)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// putDist overwrites the distributed copy of id, bypassing its version
// check, as a lost or stale write would have left it.
func putDist(t *testing.T, f *fixture, id, data string, version uint64) {
	t.Helper()
	if err := f.inner.Delete(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	set(t, f.inner, id, store.Record{Data: []byte(data), Version: version, ExpiresAt: epoch.Add(2 * time.Hour)})
}

func wantFallbacks(t *testing.T, f *fixture, want map[Reason]int) {
	t.Helper()
	got := f.obs.fallbackCounts()
	for _, r := range []Reason{ReasonError, ReasonDirty, ReasonStale, ReasonMissing} {
		if got[r] != want[r] {
			t.Fatalf("Fallback(%s): got %d, want %d (all: %v)", r, got[r], want[r], got)
		}
	}
}

func TestRampRejectsBadPercent(t *testing.T) {
	f := newFixture(t, nil)
	for _, p := range []float64{-1, 100.5, 12.345} {
		if _, err := Ramp(f.core, p); err == nil {
			t.Errorf("Ramp(%v): got nil error, want an error", p)
		}
	}
}

// TestRampUnroutedReadsLocal: a session whose bucket is at or above the
// cut is read from local, and reads the distributed store only on a local
// miss (a restarted instance, a re-pinned user), installing the copy.
func TestRampUnroutedReadsLocal(t *testing.T) {
	f := newFixture(t, nil)
	r := newRamp(t, f)
	id := sessionID(t, rampCut, false, 0)
	set(t, f.local, id, store.Record{Data: []byte("local"), Version: 2, ExpiresAt: epoch.Add(time.Hour)})
	putDist(t, f, id, "dist", 3)
	wantRecord(t, r, "Get", id, "local", 2)
	if got := f.dist.Stats(faultstore.OpGet).Calls; got != 0 {
		t.Fatalf("distributed Gets for a local hit: got %d, want 0", got)
	}
	other := sessionID(t, rampCut, false, 1)
	putDist(t, f, other, "only there", 4)
	wantRecord(t, r, "Get of a session only in the distributed store", other, "only there", 4)
	wantRecord(t, f.local, "local store after the read", other, "only there", 4)
}

// TestRampWritesBoth: ramp writes go to both stores whatever the bucket.
func TestRampWritesBoth(t *testing.T) {
	f := newFixture(t, nil)
	r := newRamp(t, f)
	for _, routed := range []bool{true, false} {
		id := sessionID(t, rampCut, routed, 0)
		set(t, r, id, rec("x"))
		l, _ := get(t, f.local, id)
		wantRecord(t, f.inner, "distributed store", id, "x", l.Version)
	}
}

// TestRampRoutedGet covers every branch of a routed read.
func TestRampRoutedGet(t *testing.T) {
	t.Run("equal versions serve the distributed copy", func(t *testing.T) {
		f := newFixture(t, nil)
		r, id := newRamp(t, f), sessionID(t, rampCut, true, 0)
		set(t, r, id, rec("both"))
		l, _ := get(t, f.local, id)
		putDist(t, f, id, "dist", l.Version) // same version, telltale bytes
		wantRecord(t, r, "Get", id, "dist", l.Version)
		wantFallbacks(t, f, nil)
	})
	t.Run("newer distributed copy is served", func(t *testing.T) {
		f := newFixture(t, nil)
		r, id := newRamp(t, f), sessionID(t, rampCut, true, 0)
		set(t, r, id, rec("both"))
		l, _ := get(t, f.local, id)
		putDist(t, f, id, "dist", l.Version+1)
		wantRecord(t, r, "Get", id, "dist", l.Version+1)
		wantFallbacks(t, f, nil)
	})
	t.Run("tracked session served from local without reading distributed", func(t *testing.T) {
		f := newFixture(t, nil)
		r, id := newRamp(t, f), sessionID(t, rampCut, true, 0)
		set(t, r, id, rec("old"))
		if err := f.dist.SetFault(faultstore.Fault{Outage: true}, faultstore.OpSet); err != nil {
			t.Fatal(err)
		}
		set(t, r, id, rec("new")) // distributed write fails: tracked
		gets := f.dist.Stats(faultstore.OpGet).Calls
		l, _ := get(t, f.local, id)
		wantRecord(t, r, "Get", id, "new", l.Version)
		wantFallbacks(t, f, map[Reason]int{ReasonDirty: 1})
		if got := f.dist.Stats(faultstore.OpGet).Calls - gets; got != 0 {
			t.Fatalf("distributed Gets for a tracked session: got %d, want 0", got)
		}
	})
	t.Run("local miss is answered from the distributed copy", func(t *testing.T) {
		f := newFixture(t, nil)
		r, id := newRamp(t, f), sessionID(t, rampCut, true, 0)
		putDist(t, f, id, "restarted", 5)
		wantRecord(t, r, "Get", id, "restarted", 5)
		wantRecord(t, f.local, "local store after the read", id, "restarted", 5)
		wantFallbacks(t, f, nil)
		if got := f.obs.count(func(o *recObserver) int { return o.lazyCopies }); got != 0 {
			t.Fatalf("LazyCopy: got %d, want 0", got)
		}
	})
	t.Run("local miss with an unconfirmed delete is not found", func(t *testing.T) {
		f := newFixture(t, nil)
		r, id := newRamp(t, f), sessionID(t, rampCut, true, 0)
		set(t, r, id, rec("a"))
		if err := f.dist.SetFault(faultstore.Fault{Outage: true}, faultstore.OpDeleteVersion); err != nil {
			t.Fatal(err)
		}
		del(t, r, id) // the tombstone does not reach the distributed store: tracked
		wantMissing(t, r, "Get", id)
		if got := f.obs.count(func(o *recObserver) int { return o.readThrough[ReadThroughDeleted] }); got != 1 {
			t.Fatalf("read-through refused for an unconfirmed delete: got %d, want 1", got)
		}
	})
	t.Run("distributed error serves local", func(t *testing.T) {
		f := newFixture(t, nil)
		r, id := newRamp(t, f), sessionID(t, rampCut, true, 0)
		set(t, r, id, rec("a"))
		if err := f.dist.SetFault(faultstore.Fault{Outage: true}, faultstore.OpGet); err != nil {
			t.Fatal(err)
		}
		l, _ := get(t, f.local, id)
		wantRecord(t, r, "Get", id, "a", l.Version) // fails on an error
		wantFallbacks(t, f, map[Reason]int{ReasonError: 1})
	})
	t.Run("distributed miss is lazily copied", func(t *testing.T) {
		f := newFixture(t, nil)
		r, id := newRamp(t, f), sessionID(t, rampCut, true, 0)
		set(t, Local(f.core), id, rec("a")) // written before the ramp
		l, _ := get(t, f.local, id)
		wantRecord(t, r, "Get", id, "a", l.Version)
		wantFallbacks(t, f, map[Reason]int{ReasonMissing: 1})
		d, found := get(t, f.inner, id)
		if !found || d.Version != l.Version || !d.ExpiresAt.Equal(l.ExpiresAt) || string(d.Data) != "a" {
			t.Fatalf("lazy copy: got %q version %d expiry %v (found %v), want %q version %d expiry %v",
				d.Data, d.Version, d.ExpiresAt, found, "a", l.Version, l.ExpiresAt)
		}
		if got := f.obs.count(func(o *recObserver) int { return o.lazyCopies }); got != 1 {
			t.Fatalf("LazyCopy: got %d, want 1", got)
		}
		// The next read is served by the copy.
		wantRecord(t, r, "second Get", id, "a", l.Version)
		wantFallbacks(t, f, map[Reason]int{ReasonMissing: 1})
	})
	t.Run("unversioned local session is copied at version 1", func(t *testing.T) {
		f := newFixture(t, nil)
		r, id := newRamp(t, f), sessionID(t, rampCut, true, 0)
		set(t, f.local, id, store.Record{Data: []byte("legacy"), ExpiresAt: epoch.Add(time.Hour)})
		wantRecord(t, r, "Get", id, "legacy", 0)
		// Version 1 keeps the copy a compare-and-set that any real write
		// or tombstone wins.
		wantRecord(t, f.inner, "distributed copy", id, "legacy", 1)
		wantRecord(t, r, "second Get", id, "legacy", 1)
		del(t, r, id)
		wantMissing(t, r, "Get after Delete", id)
		wantTombstone(t, f.inner, "distributed store", id, 1)
	})
	t.Run("failed lazy copy is tracked and repaired", func(t *testing.T) {
		f := newFixture(t, nil)
		r, id := newRamp(t, f), sessionID(t, rampCut, true, 0)
		set(t, Local(f.core), id, rec("a"))
		if err := f.dist.FailNext(1, faultstore.OpSet); err != nil {
			t.Fatal(err)
		}
		l, _ := get(t, f.local, id)
		wantRecord(t, r, "Get", id, "a", l.Version)
		if !f.core.IsUnsynced(id) {
			t.Fatal("IsUnsynced after a failed lazy copy: got false, want true")
		}
		f.flush()
		wantRecord(t, f.inner, "distributed store", id, "a", l.Version)
	})
	t.Run("older distributed copy serves local and queues a repair", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFixture(t, nil) // RepairInterval is an hour: only the queue can repair
			r, id := newRamp(t, f), sessionID(t, rampCut, true, 0)
			set(t, r, id, rec("new"))
			l, _ := get(t, f.local, id)
			putDist(t, f, id, "stale", l.Version-1)
			wantRecord(t, r, "Get", id, "new", l.Version)
			wantFallbacks(t, f, map[Reason]int{ReasonStale: 1})
			synctest.Wait() // the worker has applied the queued repair
			if got := f.core.Unsynced(); got != 0 {
				t.Fatalf("Unsynced after the queued repair: got %d, want 0", got)
			}
			wantRecord(t, f.inner, "distributed store", id, "new", l.Version)
		})
	})
}

// TestRampDeleteBoth: a ramp delete removes the session from both stores
// and leaves a distributed tombstone.
func TestRampDeleteBoth(t *testing.T) {
	f := newFixture(t, nil)
	r := newRamp(t, f)
	id := sessionID(t, rampCut, true, 0)
	set(t, r, id, rec("a"))
	old, _ := get(t, f.inner, id)
	del(t, r, id)
	wantMissing(t, r, "Get", id)
	wantMissing(t, f.local, "local store", id)
	wantTombstone(t, f.inner, "distributed store", id, old.Version)
}
