package redisstore

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// TestReplyBytesAreTheCallers: a read hands the caller the reply's own
// buffer (replyBytes), which is sound only while go-redis reads every bulk
// string into a fresh buffer of its own. Against the pinned go-redis, on
// every read path: two reads of one record are two buffers, a later read
// does not overwrite an earlier one's Data, and changing Data changes
// neither the store nor another read.
func TestReplyBytesAreTheCallers(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		ctx := testContext(t)
		s, _ := newTestStore(t, tp, Options{})
		legacy := New(s.client, Options{LegacySidecars: true})
		exp := time.Now().Add(time.Hour)
		want := map[string][]byte{
			"one":    bytes.Repeat([]byte("1"), 512),
			"two":    bytes.Repeat([]byte("2"), 512),
			"legacy": bytes.Repeat([]byte("3"), 512), // read again with the get script
		}
		for id, data := range want {
			w := s
			if id == "legacy" {
				w = legacy
			}
			if err := w.Set(ctx, id, store.Record{Data: data, ExpiresAt: exp, Version: 1}); err != nil {
				t.Fatal(err)
			}
		}
		get := func(id string) []byte {
			t.Helper()
			rec, found, err := s.Get(ctx, id)
			if err != nil || !found {
				t.Fatalf("Get(%q) = found %v, %v", id, found, err)
			}
			return rec.Data
		}
		getMany := func(id string) []byte {
			t.Helper()
			ls, err := s.GetMany(ctx, []string{id})
			if err != nil || ls[0].Err != nil || !ls[0].Found {
				t.Fatalf("GetMany(%q) = %+v, %v", id, ls, err)
			}
			return ls[0].Record.Data
		}
		scan := func(id string) []byte {
			t.Helper()
			var data []byte
			if err := s.Scan(ctx, func(got string, rec store.Record) error {
				if got == id {
					data = rec.Data
				}
				return nil
			}); err != nil || data == nil {
				t.Fatalf("Scan for %q: %v, found %v", id, err, data != nil)
			}
			return data
		}
		for _, read := range []struct {
			name string
			fn   func(string) []byte
		}{{"Get", get}, {"GetMany", getMany}, {"Scan", scan}} {
			for _, id := range []string{"one", "legacy"} {
				first := read.fn(id)
				other := read.fn("two")
				second := read.fn(id)
				if !bytes.Equal(first, want[id]) || !bytes.Equal(other, want["two"]) || !bytes.Equal(second, want[id]) {
					t.Fatalf("%s(%q): a later read changed an earlier one's Data", read.name, id)
				}
				if &first[0] == &second[0] {
					t.Fatalf("%s(%q): two reads share one buffer", read.name, id)
				}
				first[0] ^= 0xff
				if !bytes.Equal(second, want[id]) || !bytes.Equal(get(id), want[id]) {
					t.Fatalf("%s(%q): changing Data changed another read or the store", read.name, id)
				}
			}
		}
	})
}

// TestGetAllocations holds the allocations per Get that issue 14 set
// (at most 12), on the Migrator's path: a caller deadline sooner than
// Options.Timeout, a record this release wrote (one MGET). They are
// counted, not timed, so the machine's load does not move them; the race
// detector does (it empties sync.Pools at random), so it skips there.
// BenchmarkCompare/Allocs reports the figure beside a plain GET's.
func TestGetAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	const budget = 12
	srv := topologies[0]
	s, _ := newTestStore(t, srv, Options{Timeout: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rec := store.Record{Data: make([]byte, 512), ExpiresAt: time.Now().Add(time.Hour), Version: 1}
	if err := s.Set(ctx, "session", rec); err != nil {
		t.Fatal(err)
	}
	var err error
	allocs := testing.AllocsPerRun(200, func() {
		var found bool
		if _, found, err = s.Get(ctx, "session"); err == nil && !found {
			t.Fatal("Get: a miss")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%.0f allocations per Get", allocs)
	if allocs > budget {
		t.Fatalf("%.0f allocations per Get, want at most %d", allocs, budget)
	}
}
