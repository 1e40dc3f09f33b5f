package router

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
)

// TestWriteReadsTheClockOnce: a write reads the Core's clock once and hands
// the reading to the local store (store.SetterAt), which then does not read
// its own. Stages whose writes finish on the request path only: in shadow
// the async writer reads local (and its clock) concurrently.
func TestWriteReadsTheClockOnce(t *testing.T) {
	var coreReads, localReads atomic.Int64
	var local *memstore.Store
	f := newFixture(t, func(c *Config) {
		now := c.Now
		c.Now = func() time.Time { coreReads.Add(1); return now() }
		local = memstore.New(memstore.WithClock(func() time.Time { localReads.Add(1); return now() }), memstore.WithSweepInterval(0))
		c.Local = local
	})
	t.Cleanup(func() { local.Close() })
	for _, st := range []struct {
		name string
		r    store.Store
	}{{"local", Local(f.core)}, {"dual", Dual(f.core)}} {
		t.Run(st.name, func(t *testing.T) {
			f.flush()
			coreReads.Store(0)
			localReads.Store(0)
			set(t, st.r, "a", rec(st.name))
			if got := coreReads.Load(); got != 1 {
				t.Errorf("Core clock reads per Set: got %d, want 1", got)
			}
			if got := localReads.Load(); got != 0 {
				t.Errorf("local store clock reads per Set: got %d, want 0 (it takes the Core's reading)", got)
			}
			if got, ok := get(t, local, "a"); !ok || string(got.Data) != st.name {
				t.Fatalf("local store: got %q, %v; want %q", got.Data, ok, st.name)
			}
		})
	}
}

// TestExpiryWithinTheMillisecondIsADelete: stores keep expiry to the
// millisecond, so a Set whose expiry falls later in the current millisecond
// is a delete. The router must judge it so too: were it to call it live, the
// local store would drop the session without the router mirroring the
// delete, and the distributed copy would outlive the logout. The expiry may
// be the caller's or, for a zero one, now+MaxTTL with a MaxTTL under 1ms.
func TestExpiryWithinTheMillisecondIsADelete(t *testing.T) {
	now := epoch.Add(time.Minute + 200*time.Microsecond)
	tests := []struct {
		name   string
		maxTTL time.Duration
		rec    store.Record
	}{
		{"explicit expiry", 0, store.Record{Data: []byte("b"), ExpiresAt: now.Add(500 * time.Microsecond)}},
		{"zero expiry, MaxTTL 500µs", 500 * time.Microsecond, store.Record{Data: []byte("b")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.MaxTTL = tt.maxTTL })
			set(t, Dual(f.core), "a", rec("a")) // in both stores, as before a rollback
			old, _ := get(t, f.inner, "a")

			f.clock.Set(now)
			set(t, Local(f.core), "a", tt.rec)
			f.flush()

			wantMissing(t, f.local, "local store", "a")
			wantMissing(t, f.inner, "distributed store", "a")
			wantTombstone(t, f.inner, "distributed store", "a", old.Version)
		})
	}
}
