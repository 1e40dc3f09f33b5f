package redisstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// TestScanManyPages: with a tiny COUNT, Scan crosses many SCAN pages on
// every master and still visits each record once.
func TestScanManyPages(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		ctx := testContext(t)
		s, _ := newTestStore(t, tp, Options{ScanCount: 7})
		exp := time.Now().Add(time.Hour)
		const n = 300
		for i := range n {
			if err := s.Set(ctx, fmt.Sprint(i), store.Record{Data: []byte("x"), ExpiresAt: exp, Version: uint64(i + 1)}); err != nil {
				t.Fatal(err)
			}
		}
		seen := make(map[string]int)
		err := s.Scan(ctx, func(id string, rec store.Record) error {
			seen[id]++
			if want := fmt.Sprint(rec.Version - 1); id != want {
				t.Errorf("id %q has version %d, want the version of id %q", id, rec.Version, want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) != n {
			t.Fatalf("Scan visited %d ids, want %d", len(seen), n)
		}
		for id, c := range seen {
			if c != 1 {
				t.Fatalf("Scan visited id %q %d times, want once", id, c)
			}
		}
	})
}

// TestScanPrefixIsLiteral: glob characters in the prefix match only
// themselves, so another prefix's sessions are never visited.
func TestScanPrefixIsLiteral(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		ctx := testContext(t)
		mine, c := newTestStore(t, tp, Options{Prefix: `a*[b]?\:`})
		theirs := New(c, Options{Prefix: `aX[b]Y\:`})
		other := New(c, Options{Prefix: `ab?\:`})
		exp := time.Now().Add(time.Hour)
		for _, s := range []*Store{mine, theirs, other} {
			if err := s.Set(ctx, "id", store.Record{Data: []byte(s.opts.Prefix), ExpiresAt: exp}); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		if err := mine.Scan(ctx, func(id string, rec store.Record) error {
			got = append(got, id+"="+string(rec.Data))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if want := "id=" + mine.opts.Prefix; len(got) != 1 || got[0] != want {
			t.Fatalf("Scan visited %q, want only %q", got, want)
		}
	})
}
