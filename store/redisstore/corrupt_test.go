package redisstore

import (
	"errors"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// TestCorruptSidecar plants every value of sidecarCases beside a record and
// checks that Get and Scan (Go decoder) and the write scripts (Lua decoder)
// agree: corrupt values are errors wrapping store.ErrCorrupt that change
// nothing, valid ones are honoured, versions compared exactly however
// large, expiries taken from the sidecar when it carries one.
func TestCorruptSidecar(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		ctx := testContext(t)
		s, c := newTestStore(t, tp, Options{})
		exp := time.Now().Add(time.Hour)
		for _, tc := range sidecarCases {
			t.Run(tc.value, func(t *testing.T) {
				const id = "id"
				dataKey := DefaultPrefix + id
				side := sidecarKey(dataKey)
				plant := func() {
					t.Helper()
					if err := s.Set(ctx, id, store.Record{Data: []byte("data"), ExpiresAt: exp}); err != nil {
						t.Fatal(err)
					}
					if err := c.Set(ctx, side, tc.value, time.Hour).Err(); err != nil {
						t.Fatal(err)
					}
				}
				plant()
				rec, found, err := s.Get(ctx, id)
				if tc.corrupt {
					if !errors.Is(err, store.ErrCorrupt) {
						t.Fatalf("Get: got (%+v, %v, %v), want an error wrapping store.ErrCorrupt", rec, found, err)
					}
				} else {
					// The version of a record's sidecar; the expiry of a
					// sidecar that carries one, else the data key's own.
					want := store.Record{Data: []byte("data"), ExpiresAt: exp.Truncate(time.Millisecond)}
					wantFound := true
					if tc.want.kind == kindRecord {
						want.Version = tc.want.version
						if tc.want.hasExpiry {
							want.ExpiresAt = time.UnixMilli(tc.want.pxat)
							wantFound = want.ExpiresAt.After(time.Now())
						}
					}
					if err != nil || found != wantFound || found && (rec.Version != want.Version || !rec.ExpiresAt.Equal(want.ExpiresAt)) {
						t.Fatalf("Get: got (version %d, expiry %v, %v, %v), want (version %d, expiry %v, %v, nil)",
							rec.Version, rec.ExpiresAt, found, err, want.Version, want.ExpiresAt, wantFound)
					}
				}

				const v = 2
				err = s.Set(ctx, id, store.Record{Data: []byte("new"), ExpiresAt: exp, Version: v})
				if tc.corrupt {
					if !errors.Is(err, store.ErrCorrupt) {
						t.Fatalf("versioned Set: got %v, want an error wrapping store.ErrCorrupt", err)
					}
					if got, _ := c.Get(ctx, dataKey).Result(); got != "data" {
						t.Fatalf("data after a refused Set: got %q, want %q", got, "data")
					}
					if got, _ := c.Get(ctx, side).Result(); got != tc.value {
						t.Fatalf("sidecar after a refused Set: got %q, want %q untouched", got, tc.value)
					}
				} else {
					if err != nil {
						t.Fatalf("versioned Set: %v", err)
					}
					blocked := tc.want.kind == kindTombstone && tc.want.version >= v ||
						tc.want.kind == kindRecord && tc.want.version > v
					rec, found, _ := s.Get(ctx, id)
					if applied := found && string(rec.Data) == "new"; applied == blocked {
						t.Fatalf("versioned Set at %d over %q: got applied %v, want %v", v, tc.value, applied, !blocked)
					}
				}

				plant()
				err = s.DeleteVersion(ctx, id, v, exp)
				if tc.corrupt != errors.Is(err, store.ErrCorrupt) {
					t.Fatalf("DeleteVersion: got %v, want ErrCorrupt %v", err, tc.corrupt)
				}
				if !tc.corrupt && err != nil {
					t.Fatalf("DeleteVersion: %v", err)
				}

				plant()
				err = s.Scan(ctx, func(string, store.Record) error { return nil })
				if tc.corrupt != errors.Is(err, store.ErrCorrupt) {
					t.Fatalf("Scan: got %v, want ErrCorrupt %v", err, tc.corrupt)
				}

				// An unversioned Set overwrites without reading the sidecar.
				if err := s.Set(ctx, id, store.Record{Data: []byte("fixed"), ExpiresAt: exp}); err != nil {
					t.Fatalf("unversioned Set over sidecar %q: %v", tc.value, err)
				}
				if rec, found, err := s.Get(ctx, id); err != nil || !found || string(rec.Data) != "fixed" {
					t.Fatalf("Get after the repair: got (%q, %v, %v), want (\"fixed\", true, nil)", rec.Data, found, err)
				}
			})
		}
	})
}
