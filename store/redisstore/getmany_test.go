package redisstore

import (
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// TestGetMany: each id's Lookup is what Get returns, plus the tombstone the
// sidecar holds; a damaged sidecar fails only its own Lookup.
func TestGetMany(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		ctx := testContext(t)
		s, c := newTestStore(t, tp, Options{})
		exp := time.Now().Add(time.Hour).Truncate(time.Millisecond)
		rec := func(data string, v uint64) store.Record {
			return store.Record{Data: []byte(data), ExpiresAt: exp, Version: v}
		}
		mustSet := func(id string, r store.Record) {
			t.Helper()
			if err := s.Set(ctx, id, r); err != nil {
				t.Fatal(err)
			}
		}
		mustSet("live", rec("a", 5))
		mustSet("unversioned", rec("b", 0))
		mustSet("{braced}", rec("c", 7))
		mustSet("corrupt", rec("d", 1))
		if err := s.DeleteVersion(ctx, "deleted", 9, exp); err != nil {
			t.Fatal(err)
		}
		mustSet("resurrected", rec("e", 3))
		if err := s.DeleteVersion(ctx, "resurrected", 4, exp); err != nil {
			t.Fatal(err)
		}
		// A raw write over the delete, as a tool unaware of tombstones does.
		if err := c.Set(ctx, DefaultPrefix+"resurrected", "back", time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		if err := c.Set(ctx, sidecarKey(DefaultPrefix+"corrupt"), "garbage", time.Hour).Err(); err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			id   string
			want store.Lookup
		}{
			{"live", store.Lookup{Record: rec("a", 5), Found: true}},
			{"unversioned", store.Lookup{Record: rec("b", 0), Found: true}},
			{"{braced}", store.Lookup{Record: rec("c", 7), Found: true}},
			{"never", store.Lookup{}},
			{"deleted", store.Lookup{Tombstoned: true, TombstoneVersion: 9}},
			{"resurrected", store.Lookup{Found: true, Record: store.Record{Data: []byte("back")}, Tombstoned: true, TombstoneVersion: 4}},
			{"corrupt", store.Lookup{Err: store.ErrCorrupt}},
			{"live", store.Lookup{Record: rec("a", 5), Found: true}}, // twice in one batch
		}
		ids := make([]string, len(tests))
		for i, tt := range tests {
			ids[i] = tt.id
		}
		got, err := s.GetMany(ctx, ids)
		if err != nil {
			t.Fatalf("GetMany: %v", err)
		}
		if len(got) != len(tests) {
			t.Fatalf("GetMany: got %d lookups for %d ids", len(got), len(tests))
		}
		for i, tt := range tests {
			g := got[i]
			if tt.want.Err != nil {
				if !errors.Is(g.Err, tt.want.Err) {
					t.Errorf("%s: got error %v, want one wrapping %v", tt.id, g.Err, tt.want.Err)
				}
				continue
			}
			if tt.id == "resurrected" {
				// Redis set the raw key's expiry; only the rest is pinned.
				g.Record.ExpiresAt = time.Time{}
			}
			if g.Err != nil || g.Found != tt.want.Found || g.Tombstoned != tt.want.Tombstoned || g.TombstoneVersion != tt.want.TombstoneVersion ||
				string(g.Record.Data) != string(tt.want.Record.Data) || g.Record.Version != tt.want.Record.Version || !g.Record.ExpiresAt.Equal(tt.want.Record.ExpiresAt) {
				t.Errorf("%s: got %+v, want %+v", tt.id, g, tt.want)
			}
			if g.Found {
				r, found, err := s.Get(ctx, tt.id)
				if err != nil || !found || r.Version != g.Record.Version || string(r.Data) != string(g.Record.Data) || !r.ExpiresAt.Equal(got[i].Record.ExpiresAt) {
					t.Errorf("%s: Get says (%+v, %v, %v), GetMany %+v", tt.id, r, found, err, got[i])
				}
			}
		}
	})
}

// TestGetManyLarge: a large batch keeps the order of its ids, and an empty
// batch is no call.
func TestGetManyLarge(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		ctx := testContext(t)
		s, _ := newTestStore(t, tp, Options{})
		exp := time.Now().Add(time.Hour)
		const n = 1000
		var entries []store.Entry
		var ids []string
		for i := range n {
			id := "s" + strconv.Itoa(i)
			ids = append(ids, id)
			if i%3 != 0 { // every third is missing
				entries = append(entries, store.Entry{ID: id, Record: store.Record{Data: []byte(id), ExpiresAt: exp, Version: uint64(i + 1)}})
			}
		}
		if _, err := s.SetMany(ctx, entries); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetMany(ctx, ids)
		if err != nil || len(got) != n {
			t.Fatalf("GetMany: %d lookups, %v; want %d, nil", len(got), err, n)
		}
		for i, l := range got {
			want := i%3 != 0
			if l.Found != want || (want && (string(l.Record.Data) != ids[i] || l.Record.Version != uint64(i+1))) {
				t.Fatalf("id %d: got %+v, want found=%v with its own data", i, l, want)
			}
		}
		if got, err := s.GetMany(ctx, nil); err != nil || len(got) != 0 {
			t.Fatalf("GetMany(nil): got %v, %v; want empty, nil", got, err)
		}
	})
}

// TestScanIDs: every data key's id is listed (more than once at most),
// never a sidecar or a key outside the prefix, on every master.
func TestScanIDs(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		ctx := testContext(t)
		s, c := newTestStore(t, tp, Options{ScanCount: 7})
		exp := time.Now().Add(time.Hour)
		var want []string
		for i := range 500 {
			id := "s" + strconv.Itoa(i)
			if i%50 == 0 {
				id = "{" + id + "}" // the other sidecar form
			}
			want = append(want, id)
			if err := s.Set(ctx, id, store.Record{Data: []byte("x"), ExpiresAt: exp, Version: uint64(i + 1)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteVersion(ctx, "tombstone-only", 3, exp); err != nil {
			t.Fatal(err)
		}
		if err := c.Set(ctx, "other:key", "x", time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		pages := 0
		err := s.ScanIDs(ctx, func(ids []string) error {
			pages++
			for _, id := range ids {
				seen[id] = true
			}
			return nil
		})
		if err != nil {
			t.Fatalf("ScanIDs: %v", err)
		}
		var got []string
		for id := range seen {
			got = append(got, id)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("ScanIDs: got %d ids (%v...), want the %d data keys' ids", len(got), got[:min(5, len(got))], len(want))
		}
		if pages < 2 {
			t.Errorf("ScanIDs: %d pages for 500 ids, want several", pages)
		}
		// ErrStopScan ends the scan without an error.
		calls := 0
		if err := s.ScanIDs(ctx, func([]string) error { calls++; return store.ErrStopScan }); err != nil || calls != 1 {
			t.Fatalf("ScanIDs stopped: %d calls, %v; want 1, nil", calls, err)
		}
	})
}

// FuzzDecodeLookup feeds the decoder of GetMany's replies arbitrary MGET
// and script replies: it never panics, and whatever it accepts is what
// Get's decoder (decodeRecord) says, plus a tombstone only where the
// sidecar holds one.
func FuzzDecodeLookup(f *testing.F) {
	f.Add(true, "data", true, "d5:4102444800000", false, int64(0))
	f.Add(false, "", true, "t9", false, int64(0))
	f.Add(true, "x", true, "t4", true, int64(-1))
	f.Add(true, "x", true, "d3", true, int64(4102444800000))
	f.Add(true, "x", true, "garbage", false, int64(1))
	f.Add(true, "x", false, "", true, int64(-2))
	now := time.UnixMilli(1_700_000_000_000)
	f.Fuzz(func(t *testing.T, hasData bool, data string, hasSide bool, side string, script bool, ms int64) {
		r := recordReply{expiryRead: script}
		if hasData {
			r.data = data
		}
		if hasSide {
			r.side = side
		}
		if script {
			r.pexpiretime = ms
		}
		l := decodeLookup(r, now)
		rec, found, err := decodeRecord(r, now)
		if err != nil {
			if l.Err == nil {
				t.Fatalf("decodeRecord(%+v) failed (%v) but decodeLookup did not: %+v", r, err, l)
			}
			return
		}
		if l.Err != nil {
			// Only a tombstone-only or data-less sidecar may fail here.
			if found {
				t.Fatalf("decodeLookup(%+v) failed (%v) on a record decodeRecord reads", r, l.Err)
			}
			return
		}
		if l.Found != found || l.Record.Version != rec.Version || string(l.Record.Data) != string(rec.Data) || !l.Record.ExpiresAt.Equal(rec.ExpiresAt) {
			t.Fatalf("decodeLookup(%+v) = %+v, decodeRecord %+v %v", r, l, rec, found)
		}
		if l.Tombstoned && (!hasSide || side == "" || side[0] != kindTombstone) {
			t.Fatalf("decodeLookup(%+v): a tombstone without a tombstone sidecar", r)
		}
	})
}
