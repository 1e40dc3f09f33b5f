package router

import (
	"context"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
)

func TestNewCoreValidates(t *testing.T) {
	s := memstore.New(memstore.WithSweepInterval(0))
	defer s.Close()
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no local", Config{Distributed: s}},
		{"no distributed", Config{Local: s}},
		{"negative timeout", Config{Local: s, Distributed: s, DistTimeout: -1}},
		{"negative queue", Config{Local: s, Distributed: s, QueueSize: -1}},
		{"negative workers", Config{Local: s, Distributed: s, Workers: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := NewCore(tt.cfg); err == nil {
				c.Close(context.Background())
				t.Fatal("NewCore: got nil error, want an error")
			}
		})
	}
}

// stages returns every router over f's Core, by name.
func stages(t *testing.T, f *fixture) map[string]store.Store {
	t.Helper()
	ramp := func(p float64) store.Store {
		r, err := Ramp(f.core, p)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	return map[string]store.Store{
		"local":    Local(f.core),
		"shadow":   Shadow(f.core),
		"dual":     Dual(f.core),
		"ramp 0":   ramp(0),
		"ramp 100": ramp(100),
		"complete": Complete(f.core),
	}
}

// TestStampZeroExpiry: a zero ExpiresAt becomes now+MaxTTL, the same
// instant in both stores, even when the async copy lands later.
func TestStampZeroExpiry(t *testing.T) {
	const maxTTL = 3 * time.Hour // unlike the stores' own 24h default
	for _, name := range []string{"local", "shadow", "dual", "ramp 0", "ramp 100", "complete"} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.MaxTTL = maxTTL })
			r := stages(t, f)[name]
			set(t, r, "a", store.Record{Data: []byte("a")})
			f.clock.Advance(time.Minute) // a later async copy must not re-stamp
			f.flush()
			want := epoch.Add(maxTTL)
			checked := 0
			for sname, s := range map[string]store.Store{"local": f.local, "distributed": f.inner} {
				got, found := get(t, s, "a")
				if !found {
					continue
				}
				checked++
				if !got.ExpiresAt.Equal(want) {
					t.Errorf("%s store: got expiry %v, want %v", sname, got.ExpiresAt, want)
				}
			}
			if checked == 0 {
				t.Fatal("the session is in neither store")
			}
		})
	}
}

// TestStampPastExpiryDeletes: a Set with a past ExpiresAt deletes the
// session from every store it was in and leaves a distributed tombstone.
func TestStampPastExpiryDeletes(t *testing.T) {
	for _, name := range []string{"local", "shadow", "dual", "ramp 0", "ramp 100", "complete"} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, nil)
			r := stages(t, f)[name]
			var old store.Record
			if name == "complete" {
				set(t, r, "a", rec("a"))
				old, _ = get(t, f.inner, "a")
			} else {
				set(t, Dual(f.core), "a", rec("a"))
				old, _ = get(t, f.local, "a")
			}
			set(t, r, "a", store.Record{Data: []byte("b"), ExpiresAt: epoch.Add(-time.Second)})
			wantMissing(t, r, "Get", "a")
			f.flush()
			wantMissing(t, f.local, "local store", "a")
			wantMissing(t, f.inner, "distributed store", "a")
			wantTombstone(t, f.inner, "distributed store", "a", old.Version+1)
		})
	}
}

// TestVersions: versions start at the clock (microseconds, shifted above
// the logical counter) and strictly increase across stamped writes
// (TestHLCConcurrent covers goroutines).
func TestVersions(t *testing.T) {
	f := newFixture(t, nil)
	seed := uint64(epoch.UnixMicro()) << logicalBits
	if got := f.core.NextVersion(); got != seed {
		t.Fatalf("first NextVersion: got %d, want %d (clock microseconds << %d)", got, seed, logicalBits)
	}
	last := f.core.NextVersion()
	r := Dual(f.core)
	set(t, r, "a", rec("a"))
	first, _ := get(t, f.local, "a")
	set(t, r, "a", rec("b"))
	second, _ := get(t, f.local, "a")
	if first.Version <= last || second.Version <= first.Version {
		t.Fatalf("stamped versions %d then %d after %d, want increasing", first.Version, second.Version, last)
	}
}

// TestRotation: rotating a session id (delete the old one, write the new
// one) at ramp 50, with the two ids on opposite sides of the cut, serves the
// new id, never the old one, and leaves both stores agreeing.
func TestRotation(t *testing.T) {
	for _, oldRouted := range []bool{false, true} {
		name := map[bool]string{false: "local to distributed", true: "distributed to local"}[oldRouted]
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, nil)
			r := newRamp(t, f)
			oldID := sessionID(t, rampCut, oldRouted, 0)
			newID := sessionID(t, rampCut, !oldRouted, 0)
			set(t, r, oldID, rec("user"))
			wantRecord(t, r, "old id before rotation", oldID, "user", mustVersion(t, f.local, oldID))
			before, _ := get(t, f.inner, oldID)

			del(t, r, oldID)
			set(t, r, newID, rec("user"))

			wantMissing(t, r, "old id", oldID)
			v := mustVersion(t, f.local, newID)
			wantRecord(t, r, "new id", newID, "user", v)
			wantRecord(t, f.inner, "distributed new id", newID, "user", v)
			wantMissing(t, f.local, "local old id", oldID)
			wantTombstone(t, f.inner, "distributed old id", oldID, before.Version)
			if got := f.core.Unsynced(); got != 0 {
				t.Fatalf("Unsynced: got %d, want 0", got)
			}
			wantFallbacks(t, f, nil)
		})
	}
}

func mustVersion(t *testing.T, s store.Store, id string) uint64 {
	t.Helper()
	r, found := get(t, s, id)
	if !found {
		t.Fatal("session not found")
	}
	return r.Version
}
