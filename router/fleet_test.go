package router

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/internal/clocktest"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
)

// The fleet tests: several Cores share one distributed store, each with its
// own local store (an instance), as a deployment runs them. A peer with a
// fresh local store is an instance after a restart, or the one a load
// balancer re-pins users to.

// peer is another instance of f's fleet: its own local store and clock
// (skewed from f's by skew), the same distributed store.
type peer struct {
	core  *Core
	local *memstore.Store
	clock *clocktest.Clock
}

func (f *fixture) peer(skew time.Duration) *peer {
	f.t.Helper()
	p := &peer{clock: clocktest.New(f.clock.Now().Add(skew))}
	p.local = memstore.New(memstore.WithClock(p.clock.Now), memstore.WithSweepInterval(0))
	c, err := NewCore(Config{
		Local: p.local, Distributed: f.dist, Salt: testSalt,
		DistTimeout: 5 * time.Second, AsyncTimeout: 5 * time.Second, RepairInterval: time.Hour,
		Now: p.clock.Now,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	p.core = c
	f.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.Close(ctx)
		p.local.Close()
	})
	return p
}

// routers returns the router of each stage that uses the distributed store.
func routers(t *testing.T, c *Core) map[string]store.Store {
	t.Helper()
	out := map[string]store.Store{"shadow": Shadow(c), "dual": Dual(c), "complete": Complete(c)}
	for _, p := range []float64{0, 50, 100} {
		r, err := Ramp(c, p)
		if err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprintf("ramp %v", p)] = r
	}
	return out
}

// TestRestartedInstanceServesDistributedSessions: at every stage from shadow
// on, an instance with a fresh local store answers a session only the
// distributed store holds, and installs it locally at its version and
// expiry (the "200 of 200 sessions logged out by a deploy").
func TestRestartedInstanceServesDistributedSessions(t *testing.T) {
	for name := range routers(t, newFixture(t, nil).core) {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, nil)
			old := Dual(f.core)
			const n = 50
			for i := range n {
				set(t, old, fmt.Sprintf("s%d", i), rec(fmt.Sprintf("d%d", i)))
			}
			f.flush()
			fresh := f.peer(0)
			r := routers(t, fresh.core)[name]
			for i := range n {
				id := fmt.Sprintf("s%d", i)
				want, _ := get(t, f.local, id)
				got, found := get(t, r, id)
				if !found || string(got.Data) != string(want.Data) || !got.ExpiresAt.Equal(want.ExpiresAt) {
					t.Fatalf("restarted instance Get(%s): got %q found=%v exp %v, want %q exp %v", id, got.Data, found, got.ExpiresAt, want.Data, want.ExpiresAt)
				}
				if name == "complete" {
					continue // complete does not write local
				}
				wantRecord(t, fresh.local, "local store after the read", id, string(want.Data), want.Version)
			}
		})
	}
}

// TestReadThroughErrorIsNotAMiss: when local misses and the distributed
// store fails, the read fails rather than logging the user out.
func TestReadThroughErrorIsNotAMiss(t *testing.T) {
	f := newFixture(t, nil)
	set(t, Dual(f.core), "a", rec("a"))
	fresh := f.peer(0)
	if err := f.dist.SetFault(faultstore.Fault{Outage: true}, faultstore.OpGet); err != nil {
		t.Fatal(err)
	}
	for name, r := range routers(t, fresh.core) {
		if _, found, err := r.Get(context.Background(), "a"); err == nil || found {
			t.Errorf("%s: Get with local miss and distributed outage: found=%v err=%v, want an error", name, found, err)
		}
	}
}

// TestDeletedHereNeedsNoDistributedRead: a session this instance deleted
// reads as not found from the local tombstone, even while the distributed
// store fails.
func TestDeletedHereNeedsNoDistributedRead(t *testing.T) {
	for _, name := range []string{"shadow", "dual", "ramp 0", "ramp 100"} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, nil)
			r := routers(t, f.core)[name]
			set(t, r, "a", rec("a"))
			del(t, r, "a")
			f.flush()
			if err := f.dist.SetFault(faultstore.Fault{Outage: true}, faultstore.OpGet); err != nil {
				t.Fatal(err)
			}
			wantMissing(t, r, "Get of a session deleted here, distributed store down", "a")
		})
	}
}

// TestLaterWriteWinsAcrossSkewedInstances: at dual, ramp and complete, a
// write made after another instance's (in real time) wins, even when the
// other instance's clock runs 2 s ahead and this one never read the
// session; both stores of the writer agree on the version.
func TestLaterWriteWinsAcrossSkewedInstances(t *testing.T) {
	for _, name := range []string{"dual", "ramp 50", "ramp 100", "complete"} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, nil)
			ahead := f.peer(2 * time.Second)
			set(t, routers(t, ahead.core)[name], "a", rec("first, from the fast clock"))
			mine := routers(t, f.core)[name]
			set(t, mine, "a", rec("second"))
			d, _ := get(t, f.inner, "a")
			if string(d.Data) != "second" {
				t.Fatalf("distributed store: got %q, want the later write", d.Data)
			}
			if name != "complete" {
				wantRecord(t, f.local, "writer's local store", "a", "second", d.Version)
			}
			got, _ := get(t, routers(t, f.peer(0).core)[name], "a")
			if string(got.Data) != "second" {
				t.Fatalf("a third instance reads %q, want the later write", got.Data)
			}
			// The writer's next version orders after the one the
			// distributed store chose.
			if v := f.core.NextVersion(); v <= d.Version {
				t.Fatalf("next version %d, want above %d", v, d.Version)
			}
		})
	}
}

// TestLogoutThroughSlowInstanceAtComplete: a delete through the instance
// with the slower clock removes a session the faster one wrote, and no
// instance serves its stale local copy afterwards.
func TestLogoutThroughSlowInstanceAtComplete(t *testing.T) {
	f := newFixture(t, nil)
	ahead := f.peer(2 * time.Second)
	// Both instances hold a local copy from before complete.
	set(t, Dual(ahead.core), "a", rec("v1"))
	get(t, Dual(f.core), "a")
	set(t, Complete(ahead.core), "a", rec("v2"))
	del(t, Complete(f.core), "a")
	for name, c := range map[string]*Core{"deleting": f.core, "writing": ahead.core, "fresh": f.peer(0).core} {
		wantMissing(t, Complete(c), name+" instance after the logout", "a")
	}
}

// TestShortenedExpiryAtCompleteHolds: an expiry shortened at complete is not
// undone by the local copy written before.
func TestShortenedExpiryAtCompleteHolds(t *testing.T) {
	f := newFixture(t, nil)
	set(t, Dual(f.core), "a", store.Record{Data: []byte("long"), ExpiresAt: epoch.Add(time.Hour)})
	other := f.peer(0)
	set(t, Complete(other.core), "a", store.Record{Data: []byte("short"), ExpiresAt: epoch.Add(time.Minute)})
	f.clock.Advance(2 * time.Minute)
	other.clock.Advance(2 * time.Minute)
	wantMissing(t, Complete(f.core), "Get after the shortened expiry", "a")
}

// TestExpiryOutOfRangeRefused: an expiry no store can keep is refused at
// every stage with store.ErrExpiry, and nothing is written.
func TestExpiryOutOfRangeRefused(t *testing.T) {
	for name := range stages(t, newFixture(t, nil)) {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, nil)
			r := stages(t, f)[name]
			set(t, r, "a", rec("kept"))
			f.flush()
			err := r.Set(context.Background(), "a", store.Record{Data: []byte("far"), ExpiresAt: time.Date(300_000_000, 1, 1, 0, 0, 0, 0, time.UTC)})
			if !errors.Is(err, store.ErrExpiry) {
				t.Fatalf("Set with an expiry in year 300 million: got %v, want store.ErrExpiry", err)
			}
			f.flush()
			if got, found := get(t, r, "a"); !found || string(got.Data) != "kept" {
				t.Fatalf("Get after the refused Set: got %q found=%v, want %q", got.Data, found, "kept")
			}
		})
	}
}

// TestLeavingCompleteForgetsLocal: after a forced rollback from complete,
// no local copy from before complete is served: sessions changed or deleted
// at complete (through any instance) read as the distributed store has
// them, and an unsynced write made before complete is kept.
func TestLeavingCompleteForgetsLocal(t *testing.T) {
	f := newFixture(t, nil)
	dual := Dual(f.core)
	for _, id := range []string{"changed", "deleted", "untouched", "unsynced"} {
		set(t, dual, id, rec("before"))
	}
	if err := f.dist.SetFault(faultstore.Fault{Outage: true}, faultstore.OpSet); err != nil {
		t.Fatal(err)
	}
	set(t, dual, "unsynced", rec("unsynced write"))
	f.dist.Reset()

	other := Complete(f.peer(0).core) // complete, through another instance
	set(t, other, "changed", rec("at complete"))
	del(t, other, "deleted")

	n, err := f.core.ForgetLocal(context.Background())
	if err != nil || n != 3 {
		t.Fatalf("ForgetLocal: got %d, %v; want 3, nil", n, err)
	}
	back, err := Ramp(f.core, 100)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"changed": "at complete", "untouched": "before", "unsynced": "unsynced write"} {
		if got, found := get(t, back, id); !found || string(got.Data) != want {
			t.Errorf("ramp 100 after leaving complete: Get(%s) = %q found=%v, want %q", id, got.Data, found, want)
		}
	}
	wantMissing(t, back, "Get(deleted) after leaving complete", "deleted")
}

// TestLogoutElsewhereBeforeComplete: a user served by one instance, moved
// to another and logged out there, then sent back: at ramp the first
// instance's stale local copy is not served (the distributed store reports
// the tombstone) and is deleted, whatever the clocks' skew.
func TestLogoutElsewhereBeforeComplete(t *testing.T) {
	for _, skew := range []time.Duration{-2 * time.Second, 0, 2 * time.Second} {
		t.Run(fmt.Sprint("skew ", skew), func(t *testing.T) {
			f := newFixture(t, nil)
			other := f.peer(skew)
			set(t, Dual(f.core), "a", rec("v1"))
			get(t, Dual(other.core), "a") // re-pinned: read through, then
			del(t, Dual(other.core), "a") // logged out there
			r, err := Ramp(f.core, 100)
			if err != nil {
				t.Fatal(err)
			}
			wantMissing(t, r, "first instance after the logout elsewhere", "a")
			if _, found, _ := f.local.Get(context.Background(), "a"); found {
				t.Fatal("the stale local copy is still in the first instance's local store")
			}
		})
	}
}

// TestLogoutElsewhereOfUnsyncedAtComplete: an instance's write that never
// reached the distributed store (tracked as unsynced) is served from local
// at complete until its repair lands, unless another instance deleted the
// session since: then it is gone at once, before any repair.
func TestLogoutElsewhereOfUnsyncedAtComplete(t *testing.T) {
	f := newFixture(t, nil)
	other := f.peer(0)
	set(t, Dual(f.core), "a", rec("v1"))
	if err := f.dist.FailNext(1, faultstore.OpSet); err != nil {
		t.Fatal(err)
	}
	set(t, Dual(f.core), "a", rec("v2")) // acknowledged: local holds it, tracked
	if !f.core.IsUnsynced("a") {
		t.Fatal("the failed write is not tracked")
	}
	get(t, Dual(other.core), "a")
	del(t, Dual(other.core), "a")
	wantMissing(t, Complete(f.core), "writing instance after the logout elsewhere", "a")
}
