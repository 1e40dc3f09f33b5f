package router

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
)

// TestStaleCopyAfterLossIsUndone: the writer reads a session from local to
// copy it; before the copy arrives, the user logs out on the request path
// (a synchronous delete: the tombstone reaches the distributed store and
// the tracker forgets the session), and the distributed store loses the
// tombstone (FLUSHALL, a failover). The old copy then lands on nothing and
// would bring the logged-out session back (found by the fleet model with
// MONITOR: a repair batch sent a record read 40 ms earlier, after a
// FLUSHALL). Once the copy is stored, local has moved on: the writer must
// put the tombstone back over it.
func TestStaleCopyAfterLossIsUndone(t *testing.T) {
	for _, tc := range []struct {
		name  string
		track func(f *fixture) // makes the writer copy "s"
		after bool             // the hook waits for track (the write itself calls the store)
	}{
		{"async write", func(f *fixture) { set(f.t, Shadow(f.core), "s", rec("v1")) }, false},
		{"repair", func(f *fixture) {
			// A failed synchronous write leaves the session to the
			// repair loop's batch.
			if err := f.dist.FailNext(1, faultstore.OpSet); err != nil {
				f.t.Fatal(err)
			}
			set(f.t, Dual(f.core), "s", rec("v1"))
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			var fired atomic.Bool
			hook := func(ctx context.Context, op faultstore.Op, id string) {
				if op != faultstore.OpSet || id != "s" || !fired.CompareAndSwap(false, true) {
					return
				}
				// The copy of v1 is on its way. Meanwhile: a logout
				// through the request path, then the store loses it.
				if err := Dual(f.core).Delete(ctx, "s"); err != nil {
					t.Errorf("Delete: %v", err)
				}
				if err := f.inner.Delete(ctx, "s"); err != nil {
					t.Errorf("losing the tombstone: %v", err)
				}
			}
			if !tc.after {
				f.setHook(hook)
			}
			tc.track(f)
			if tc.after {
				if n := f.core.Unsynced(); n != 1 {
					t.Fatalf("the failed write left %d sessions unsynced, want 1", n)
				}
				f.setHook(hook)
			}
			f.flush()
			if !fired.Load() {
				t.Fatal("the writer never copied the session")
			}
			f.flush() // the re-applied delete, if the first flush queued it
			ctx, cancel := opCtx()
			defer cancel()
			if got, found, err := f.inner.Get(ctx, "s"); err != nil || found {
				t.Fatalf("the distributed store holds the logged-out session: %q found=%v err=%v", got.Data, found, err)
			}
			if _, dead, err := f.inner.Tombstone(ctx, "s"); err != nil || !dead {
				t.Fatalf("no tombstone over the stale copy: dead=%v err=%v", dead, err)
			}
			if n := f.core.Unsynced(); n != 0 {
				t.Fatalf("%d sessions left unsynced", n)
			}
		})
	}
}
