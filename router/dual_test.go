package router

import (
	"testing"

	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
)

// TestDualWritesBoth: a dual Set is in both stores when it returns.
func TestDualWritesBoth(t *testing.T) {
	f := newFixture(t, nil)
	r := Dual(f.core)
	set(t, r, "a", rec("a"))
	l, _ := get(t, f.local, "a")
	wantRecord(t, f.inner, "distributed store", "a", "a", l.Version)
	if got := f.core.Unsynced(); got != 0 {
		t.Fatalf("Unsynced: got %d, want 0", got)
	}
}

// TestDualDistributedFailure: a failed distributed write is not the user's
// error; the session is tracked and repaired once the store is back, also
// when the failure was ambiguous (the write was applied).
func TestDualDistributedFailure(t *testing.T) {
	tests := []struct {
		name      string
		fault     faultstore.Fault
		op        faultstore.Op
		delete    bool
		wantCalls uint64 // distributed calls of op: the failed one and the repair
	}{
		{"set outage", faultstore.Fault{Outage: true}, faultstore.OpSet, false, 2},
		{"set ambiguous", faultstore.Fault{Outage: true, Ambiguous: true}, faultstore.OpSet, false, 2},
		{"delete outage", faultstore.Fault{Outage: true}, faultstore.OpDeleteVersion, true, 2},
		{"delete ambiguous", faultstore.Fault{Outage: true, Ambiguous: true}, faultstore.OpDeleteVersion, true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			r := Dual(f.core)
			set(t, r, "a", rec("old"))
			old, _ := get(t, f.inner, "a")
			if err := f.dist.SetFault(tt.fault, tt.op); err != nil {
				t.Fatal(err)
			}
			before := f.dist.Stats(tt.op).Calls
			if tt.delete {
				del(t, r, "a") // fails the test on an error
				wantMissing(t, r, "Get after a failed distributed delete", "a")
			} else {
				set(t, r, "a", rec("new"))
				l, _ := get(t, f.local, "a")
				wantRecord(t, r, "Get after a failed distributed set", "a", "new", l.Version)
			}
			if !f.core.IsUnsynced("a") {
				t.Fatal("IsUnsynced: got false after a failed distributed write, want true")
			}
			if got := f.obs.count(func(o *recObserver) int { return o.distFailures }); got != 1 {
				t.Fatalf("DistWriteFailed: got %d, want 1", got)
			}

			f.dist.Reset()
			f.flush()
			if got := f.core.Unsynced(); got != 0 {
				t.Fatalf("Unsynced after repair: got %d, want 0", got)
			}
			if got := f.dist.Stats(tt.op).Calls - before; got != tt.wantCalls {
				t.Fatalf("distributed %v calls: got %d, want %d", tt.op, got, tt.wantCalls)
			}
			if tt.delete {
				wantMissing(t, f.inner, "distributed store", "a")
				wantTombstone(t, f.inner, "distributed store", "a", old.Version)
				return
			}
			l, _ := get(t, f.local, "a")
			wantRecord(t, f.inner, "distributed store", "a", "new", l.Version)
		})
	}
}

// TestDualComparesEveryRead: every dual read is offered, off the request
// path (the router itself makes no distributed call).
func TestDualComparesEveryRead(t *testing.T) {
	cmp := &recComparer{}
	f := newFixture(t, func(c *Config) { c.Compare = cmp })
	r := Dual(f.core)
	set(t, f.local, "a", rec("a"))
	for range 5 {
		get(t, r, "a")
	}
	if got := cmp.len(); got != 5 {
		t.Fatalf("offers for 5 reads: got %d, want 5", got)
	}
	if got := f.dist.Stats(faultstore.OpGet).Calls; got != 0 {
		t.Fatalf("distributed Gets on the read path: got %d, want 0", got)
	}
}
