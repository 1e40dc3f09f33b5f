package migrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/internal/clocktest"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
)

// scanFixture is a Migrator on a fake clock over two memstores, the
// distributed one behind a faultstore, with repairs far apart so that an
// unsynced session stays unsynced while a test looks.
type scanFixture struct {
	clock *clocktest.Clock
	local *memstore.Store
	dist  *memstore.Store
	fault *faultstore.Store
	m     *Migrator
}

func newScanFixture(t *testing.T) *scanFixture {
	t.Helper()
	clock := clocktest.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	f := &scanFixture{
		clock: clock,
		local: memstore.New(memstore.WithClock(clock.Now)),
		dist:  memstore.New(memstore.WithClock(clock.Now)),
	}
	f.fault = faultstore.New(f.dist)
	m, err := New(f.local, f.fault, Options{Now: clock.Now, RepairInterval: time.Hour, DisableGuard: true})
	if err != nil {
		t.Fatal(err)
	}
	f.m = m
	t.Cleanup(func() {
		_ = m.Close() // the unsynced session stays unsynced: Close reports it
		f.local.Close()
		f.dist.Close()
	})
	return f
}

func (f *scanFixture) stage(t *testing.T, s Stage, percent float64) {
	t.Helper()
	if err := f.m.SetStage(s, percent); err != nil {
		t.Fatal(err)
	}
}

func (f *scanFixture) set(t *testing.T, id string, ttl time.Duration) {
	t.Helper()
	if err := f.m.Set(context.Background(), id, store.Record{Data: []byte("data of " + id), ExpiresAt: f.clock.Now().Add(ttl)}); err != nil {
		t.Fatalf("Set(%s): %v", id, err)
	}
}

// scanAll runs Scan to the end and returns what it visited, failing t if an
// id is visited twice.
func scanAll(t *testing.T, s store.Scanner) map[string]store.Record {
	t.Helper()
	got := map[string]store.Record{}
	err := s.Scan(context.Background(), func(id string, rec store.Record) error {
		if _, dup := got[id]; dup {
			t.Errorf("Scan visited %s twice, want once", id)
		}
		got[id] = rec
		return nil
	})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return got
}

// The sessions of TestScanListsWhatGetFinds, by where they live.
const (
	idLocalOnly = "local-only"  // written at local: process memory only
	idBoth      = "both"        // written at dual
	idUnsynced  = "unsynced"    // written at dual while the distributed write failed
	idDeleted   = "deleted"     // written and logged out at dual
	idExpired   = "expired"     // written at local, expired since
	idDistOnly  = "dist-only"   // in Redis only (another instance, or plain scs)
	idNever     = "never-there" // nowhere
)

// TestScanListsWhatGetFinds: at every stage Scan visits exactly the
// sessions a Get through the Migrator finds, once each and with the record
// Get returns; logged-out and expired sessions never, the sessions only
// local holds always, the session only Redis holds at complete.
func TestScanListsWhatGetFinds(t *testing.T) {
	ids := []string{idLocalOnly, idBoth, idUnsynced, idDeleted, idExpired, idDistOnly, idNever}
	tests := []struct {
		stage   Stage
		percent float64
		want    []string // must be visited (besides agreeing with Get)
	}{
		{Local, 0, []string{idLocalOnly, idBoth, idUnsynced}},
		{Shadow, 0, []string{idLocalOnly, idBoth, idUnsynced}},
		{Dual, 0, []string{idLocalOnly, idBoth, idUnsynced}},
		{Ramp, 50, []string{idLocalOnly, idBoth, idUnsynced}},
		{Ramp, 100, []string{idLocalOnly, idBoth, idUnsynced}},
		{Complete, 100, []string{idLocalOnly, idBoth, idUnsynced, idDistOnly}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %g", tt.stage, tt.percent), func(t *testing.T) {
			ctx := context.Background()
			f := newScanFixture(t)
			f.set(t, idLocalOnly, time.Hour)
			f.set(t, idExpired, time.Second)
			f.stage(t, Dual, 0)
			f.set(t, idBoth, time.Hour)
			f.set(t, idDeleted, time.Hour)
			if err := f.m.Delete(ctx, idDeleted); err != nil {
				t.Fatal(err)
			}
			if err := f.fault.FailNext(1, faultstore.OpSet); err != nil {
				t.Fatal(err)
			}
			f.set(t, idUnsynced, time.Hour)
			if err := f.dist.Set(ctx, idDistOnly, store.Record{Data: []byte("data of " + idDistOnly), ExpiresAt: f.clock.Now().Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(2 * time.Second)
			if tt.stage == Complete {
				// As the migration does before complete: every local
				// session copied, through ramp 100.
				if _, err := f.m.Backfill(ctx, BackfillOptions{}); err != nil {
					t.Fatal(err)
				}
				f.stage(t, Ramp, 100)
			}
			f.stage(t, tt.stage, tt.percent)
			if f.m.Unsynced() != 1 {
				t.Fatalf("Unsynced: got %d, want 1 (the session whose distributed write failed)", f.m.Unsynced())
			}

			got := scanAll(t, f.m)
			want := map[string]store.Record{}
			for _, id := range ids {
				rec, found, err := f.m.Get(ctx, id)
				if err != nil {
					t.Fatalf("Get(%s): %v", id, err)
				}
				if found {
					want[id] = rec
				}
			}
			for _, id := range ids {
				g, inScan := got[id]
				w, inGet := want[id]
				switch {
				case inScan != inGet:
					t.Errorf("%s: visited by Scan %t, found by Get %t; want the same", id, inScan, inGet)
				case inScan && (string(g.Data) != string(w.Data) || !g.ExpiresAt.Equal(w.ExpiresAt)):
					t.Errorf("%s: Scan gave %q expiring %v, Get gives %q expiring %v", id, g.Data, g.ExpiresAt, w.Data, w.ExpiresAt)
				}
			}
			for _, id := range tt.want {
				if _, ok := got[id]; !ok {
					t.Errorf("%s: not visited, want visited at %s", id, tt.stage)
				}
			}
			for _, id := range []string{idDeleted, idExpired, idNever} {
				if _, ok := got[id]; ok {
					t.Errorf("%s: visited, want never", id)
				}
			}
		})
	}
}

// TestScanFollowsStageChange: a stage change during the scan to one that
// reads another store makes Scan enumerate that store too, without visiting
// anything twice.
func TestScanFollowsStageChange(t *testing.T) {
	ctx := context.Background()
	f := newScanFixture(t)
	f.set(t, "a", time.Hour)
	f.set(t, "b", time.Hour)
	if err := f.dist.Set(ctx, idDistOnly, store.Record{Data: []byte("x"), ExpiresAt: f.clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	var visited []string
	err := f.m.Scan(ctx, func(id string, _ store.Record) error {
		if len(visited) == 0 {
			f.stage(t, Ramp, 100) // reads Redis too from now on
		}
		visited = append(visited, id)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(visited)
	if want := []string{"a", "b", idDistOnly}; !slices.Equal(visited, want) {
		t.Errorf("visited %q, want %q", visited, want)
	}
}

// noScan hides a store's Scan method.
type noScan struct{ store.Versioned }

// noScanDist hides a distributed store's Scan method, keeping the ordered
// writes the Migrator needs of it.
type noScanDist struct {
	store.Versioned
	store.LatestWriter
}

func TestScanUnsupported(t *testing.T) {
	tests := []struct {
		name        string
		stage       Stage
		hideLocal   bool
		hideDist    bool
		unsupported bool
	}{
		{"local without Scan at local", Local, true, false, true},
		{"distributed without Scan at local", Local, false, true, false},
		{"distributed without Scan at dual", Dual, false, true, true},
		{"local without Scan at dual", Dual, true, false, true},
		{"local without Scan at complete", Complete, true, false, false},
		{"distributed without Scan at complete", Complete, false, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var local, dist store.Versioned = memstore.New(), memstore.New()
			defer local.(*memstore.Store).Close()
			defer dist.(*memstore.Store).Close()
			_ = local.Set(context.Background(), "s", store.Record{Data: []byte("x")})
			_ = dist.Set(context.Background(), "s", store.Record{Data: []byte("x")})
			if tt.hideLocal {
				local = noScan{local}
			}
			if tt.hideDist {
				dist = noScanDist{dist, dist.(store.LatestWriter)}
			}
			m, err := New(local, dist, Options{Stage: tt.stage, Percent: 100 * boolFloat(tt.stage == Complete), DisableGuard: true})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			calls := 0
			err = m.Scan(context.Background(), func(string, store.Record) error { calls++; return nil })
			if got := errors.Is(err, ErrScanUnsupported); got != tt.unsupported {
				t.Fatalf("Scan: got %v, want ErrScanUnsupported %t", err, tt.unsupported)
			}
			if tt.unsupported && tt.stage != Dual && calls != 0 {
				t.Errorf("fn called %d times before the error, want 0", calls)
			}
			if !tt.unsupported && (err != nil || calls != 1) {
				t.Errorf("Scan: got %v after %d calls, want nil after 1", err, calls)
			}
		})
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func TestScanErrors(t *testing.T) {
	errMine := errors.New("mine")
	tests := []struct {
		name   string
		stage  Stage
		setup  func(f *scanFixture, ctx context.Context) context.Context
		fn     func(id string, rec store.Record) error
		check  func(err error) bool
		maxRun int // fn calls allowed
	}{
		{
			name: "fn stops", stage: Dual,
			fn:     func(string, store.Record) error { return store.ErrStopScan },
			check:  func(err error) bool { return err == nil },
			maxRun: 1,
		},
		{
			name: "fn error returned as is", stage: Dual,
			fn:     func(string, store.Record) error { return errMine },
			check:  func(err error) bool { return err == errMine },
			maxRun: 1,
		},
		{
			name: "canceled", stage: Dual,
			setup: func(_ *scanFixture, ctx context.Context) context.Context {
				ctx, cancel := context.WithCancel(ctx)
				cancel()
				return ctx
			},
			check: func(err error) bool { return errors.Is(err, context.Canceled) },
		},
		{
			name: "distributed scan fails", stage: Complete,
			setup: func(f *scanFixture, ctx context.Context) context.Context {
				_ = f.fault.FailNext(1, faultstore.OpScan)
				return ctx
			},
			check: func(err error) bool { return errors.Is(err, faultstore.ErrInjected) },
		},
		{
			name: "get fails", stage: Complete,
			setup: func(f *scanFixture, ctx context.Context) context.Context {
				_ = f.fault.FailNext(1, faultstore.OpGet)
				return ctx
			},
			check: func(err error) bool { return errors.Is(err, faultstore.ErrInjected) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newScanFixture(t)
			f.stage(t, Dual, 0)
			for _, id := range []string{"a", "b", "c"} {
				f.set(t, id, time.Hour)
			}
			f.stage(t, Ramp, 100)
			f.stage(t, tt.stage, 100*boolFloat(tt.stage == Complete))
			ctx := context.Background()
			if tt.setup != nil {
				ctx = tt.setup(f, ctx)
			}
			calls := 0
			err := f.m.Scan(ctx, func(id string, rec store.Record) error {
				calls++
				if tt.fn != nil {
					return tt.fn(id, rec)
				}
				return nil
			})
			if !tt.check(err) {
				t.Errorf("Scan: got %v", err)
			}
			if calls > tt.maxRun {
				t.Errorf("fn called %d times, want at most %d", calls, tt.maxRun)
			}
		})
	}
}
