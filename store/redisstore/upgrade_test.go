package redisstore

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// The previous release kept only "d<version>" or "t<version>" in a sidecar;
// the record's expiry was on its data key alone. These tests plant what it
// wrote and check that this release reads and orders it, so an upgrade in
// the middle of a migration loses nothing.

// plantPrevious writes id as the previous release's scripts did: data with
// its PXAT and, unless side is "", a sidecar with the same PXAT (a
// tombstone: side only, expiring at exp).
func plantPrevious(t *testing.T, s *Store, c redis.UniversalClient, id, data, side string, exp time.Time) {
	t.Helper()
	ctx := testContext(t)
	dk, sk := s.recordKeys(id)
	if data != "" {
		if err := c.Do(ctx, "SET", dk, data, "PXAT", exp.UnixMilli()).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if side != "" {
		if err := c.Do(ctx, "SET", sk, side, "PXAT", exp.UnixMilli()).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// previousDecodeSidecar is the previous release's decoder: what instances
// still running it accept.
func previousDecodeSidecar(v string) bool {
	if len(v) < 2 || (v[0] != 'd' && v[0] != 't') {
		return false
	}
	digits := v[1:]
	if len(digits) > 1 && digits[0] == '0' || strings.Trim(digits, "0123456789") != "" {
		return false
	}
	_, err := strconv.ParseUint(digits, 10, 64)
	return err == nil
}

// TestPreviousReleaseRecords: records, tombstones and scs-written sessions
// as the previous release left them read with their versions and their data
// keys' expiries, and every write orders against them.
func TestPreviousReleaseRecords(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		ctx := testContext(t)
		s, c := newTestStore(t, tp, Options{})
		exp := time.Now().Add(time.Hour).Truncate(time.Millisecond)
		later := exp.Add(time.Hour)
		plantPrevious(t, s, c, "rec", "old record", "d5", exp)
		plantPrevious(t, s, c, "tomb", "", "t5", exp)
		plantPrevious(t, s, c, "scs", "from scs", "", exp)

		want := map[string]store.Record{
			"rec": {Data: []byte("old record"), ExpiresAt: exp, Version: 5},
			"scs": {Data: []byte("from scs"), ExpiresAt: exp},
		}
		for _, id := range []string{"rec", "tomb", "scs"} {
			rec, found, err := s.Get(ctx, id)
			w, wantFound := want[id]
			if err != nil || found != wantFound || found && (string(rec.Data) != string(w.Data) || rec.Version != w.Version || !rec.ExpiresAt.Equal(w.ExpiresAt)) {
				t.Fatalf("Get(%q): got (%+v, %v, %v), want (%+v, %v, nil)", id, rec, found, err, w, wantFound)
			}
		}
		visited := map[string]store.Record{}
		if err := s.Scan(ctx, func(id string, rec store.Record) error { visited[id] = rec; return nil }); err != nil {
			t.Fatal(err)
		}
		if len(visited) != len(want) {
			t.Fatalf("Scan visited %d sessions, want %d", len(visited), len(want))
		}
		for id, w := range want {
			if got := visited[id]; got.Version != w.Version || !got.ExpiresAt.Equal(w.ExpiresAt) {
				t.Fatalf("Scan %q: got version %d expiry %v, want %d and %v", id, got.Version, got.ExpiresAt, w.Version, w.ExpiresAt)
			}
		}

		// Ordering against what the previous release wrote.
		if err := s.Set(ctx, "rec", store.Record{Data: []byte("older"), ExpiresAt: later, Version: 4}); err != nil {
			t.Fatal(err)
		}
		if err := s.Set(ctx, "tomb", store.Record{Data: []byte("resurrected"), ExpiresAt: later, Version: 5}); err != nil {
			t.Fatal(err)
		}
		if _, found, _ := s.Get(ctx, "tomb"); found {
			t.Fatal("a copy at the tombstone's version brought a deleted session back")
		}
		if rec, _, _ := s.Get(ctx, "rec"); string(rec.Data) != "old record" {
			t.Fatalf("an older copy replaced the record: got %q", rec.Data)
		}
		v, err := s.SetLatest(ctx, "rec", store.Record{Data: []byte("latest"), ExpiresAt: later, Version: 2})
		if err != nil || v != 6 {
			t.Fatalf("SetLatest over version 5: got (%d, %v), want (6, nil)", v, err)
		}
		wantRecord(t, s, c, "rec", "latest", 6, later)
		plantPrevious(t, s, c, "del", "to delete", "d8", exp)
		if v, err := s.DeleteLatest(ctx, "del", 1, time.Time{}, time.Time{}); err != nil || v != 9 {
			t.Fatalf("DeleteLatest over version 8: got (%d, %v), want (9, nil)", v, err)
		}
		wantTombstone(t, s, c, "del", 9, exp) // the record's own expiry
	})
}

// TestReadRoundTrips: a record this release wrote is read with one MGET
// and no script; one whose sidecar lacks the expiry takes the script too.
func TestReadRoundTrips(t *testing.T) {
	ctx := testContext(t)
	s, c := newTestStore(t, topologies[0], Options{})
	exp := time.Now().Add(time.Hour)
	if err := s.Set(ctx, "new", store.Record{Data: []byte("x"), ExpiresAt: exp, Version: 3}); err != nil {
		t.Fatal(err)
	}
	plantPrevious(t, s, c, "old", "x", "d3", exp)
	for _, tt := range []struct {
		id             string
		mgets, scripts int64
	}{{"new", 10, 0}, {"old", 10, 10}, {"missing", 10, 0}} {
		t.Run(tt.id, func(t *testing.T) {
			if err := c.ConfigResetStat(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			for range 10 {
				if _, _, err := s.Get(ctx, tt.id); err != nil {
					t.Fatal(err)
				}
			}
			calls := commandCalls(t, c)
			if scripts := calls["evalsha_ro"] + calls["eval_ro"]; calls["mget"] != tt.mgets || scripts != tt.scripts {
				t.Fatalf("10 Gets ran %d MGET and %d scripts, want %d and %d (all commands: %v)", calls["mget"], scripts, tt.mgets, tt.scripts, calls)
			}
		})
	}
}

// commandCalls returns the calls per command since the last CONFIG
// RESETSTAT, from INFO commandstats.
func commandCalls(t *testing.T, c redis.UniversalClient) map[string]int64 {
	t.Helper()
	stats, err := commandStats(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	calls := make(map[string]int64, len(stats))
	for name, st := range stats {
		calls[name] = st.calls
	}
	return calls
}

// TestLegacySidecars: with Options.LegacySidecars every write leaves
// sidecars the previous release decodes, and this release still reads them
// exactly. Without it, records' sidecars carry the expiry, which the
// previous release would reject.
func TestLegacySidecars(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		ctx := testContext(t)
		for _, legacy := range []bool{true, false} {
			s, _ := newTestStore(t, tp, Options{LegacySidecars: legacy})
			exp := time.Now().Add(time.Hour).Truncate(time.Millisecond)
			rec := func(v uint64) store.Record { return store.Record{Data: []byte("x"), ExpiresAt: exp, Version: v} }
			writes := []error{
				s.Set(ctx, "unversioned", rec(0)),
				s.Set(ctx, "versioned", rec(4)),
				s.Set(ctx, "versioned", rec(5)),
				func() error {
					_, err := s.SetMany(ctx, []store.Entry{{ID: "many", Record: rec(6)}, {ID: "versioned", Record: rec(7)}})
					return err
				}(),
				func() error { _, err := s.SetLatest(ctx, "latest", rec(2)); return err }(),
				func() error { _, err := s.SetLatest(ctx, "latest", rec(1)); return err }(),
				s.DeleteVersion(ctx, "deleted", 3, exp),
			}
			for i, err := range writes {
				if err != nil {
					t.Fatalf("legacy %v: write %d: %v", legacy, i, err)
				}
			}
			for _, k := range allKeys(t, tp) {
				if !strings.HasPrefix(k.key, "{") {
					continue
				}
				v, err := k.node.Get(ctx, k.key).Result()
				if err != nil {
					t.Fatal(err)
				}
				if ok := previousDecodeSidecar(v); ok != (legacy || v[0] == kindTombstone) {
					t.Errorf("legacy %v: sidecar %q: previous release decodes it: %v", legacy, v, ok)
				}
			}
			for id, w := range map[string]uint64{"unversioned": 0, "versioned": 7, "many": 6, "latest": 3} {
				got, found, err := s.Get(ctx, id)
				if err != nil || !found || got.Version != w || !got.ExpiresAt.Equal(exp) {
					t.Fatalf("legacy %v: Get(%q): got (%+v, %v, %v), want version %d expiring at %v", legacy, id, got, found, err, w, exp)
				}
			}
		}
	})
}
