package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// TestSetMany: each entry of a batch follows Set's rules and reports
// whether it was written; failures name the entry by index, not by id.
func TestSetMany(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		ctx := testContext(t)
		s, c := newTestStore(t, tp, Options{})
		exp := time.Now().Add(time.Hour).Truncate(time.Millisecond)
		rec := func(data string, v uint64) store.Record {
			return store.Record{Data: []byte(data), ExpiresAt: exp, Version: v}
		}
		// Stored state before the batch.
		for id, r := range map[string]store.Record{
			"higher": rec("stored", 5), "equal": rec("stored", 5), "lower": rec("stored", 5),
			"past": rec("stored", 5), "{braced}": rec("stored", 5), "secret-corrupt-id": rec("stored", 0),
		} {
			if err := s.Set(ctx, id, r); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteVersion(ctx, "tombstoned", 5, exp); err != nil {
			t.Fatal(err)
		}
		if err := c.Set(ctx, sidecarKey(DefaultPrefix+"secret-corrupt-id"), "garbage", time.Hour).Err(); err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			id      string
			rec     store.Record
			applied bool
			want    string // data Get returns afterwards; "" for a miss
		}{
			{"new-unversioned", rec("a", 0), true, "a"},
			{"new-versioned", rec("b", 1), true, "b"},
			{"higher", rec("c", 4), false, "stored"},
			{"equal", rec("d", 5), true, "d"},
			{"lower", rec("e", 6), true, "e"},
			{"tombstoned", rec("f", 5), false, ""},
			{"past", store.Record{Data: []byte("g"), ExpiresAt: time.Now().Add(-time.Second), Version: 6}, true, ""},
			{"{braced}", rec("h", 7), true, "h"},
			{"secret-corrupt-id", rec("i", 9), false, "stored"},
		}
		entries := make([]store.Entry, len(tests))
		for i, tt := range tests {
			entries[i] = store.Entry{ID: tt.id, Record: tt.rec}
		}
		applied, err := s.SetMany(ctx, entries)
		if !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("SetMany: got error %v, want one wrapping store.ErrCorrupt for the damaged entry", err)
		}
		if msg := err.Error(); strings.Contains(msg, "secret-corrupt-id") || !strings.Contains(msg, fmt.Sprintf("entry %d", len(tests)-1)) {
			t.Fatalf("SetMany error %q: want the entry named by index and its id absent", msg)
		}
		if len(applied) != len(tests) {
			t.Fatalf("got %d applied flags, want %d", len(applied), len(tests))
		}
		for i, tt := range tests {
			if applied[i] != tt.applied {
				t.Errorf("entry %q: got applied %v, want %v", tt.id, applied[i], tt.applied)
			}
			if tt.id == "secret-corrupt-id" {
				continue // Get reports the damaged sidecar
			}
			got, found, err := s.Get(ctx, tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" && found {
				t.Errorf("entry %q: Get found %q, want a miss", tt.id, got.Data)
			}
			if tt.want != "" && (!found || string(got.Data) != tt.want) {
				t.Errorf("entry %q: Get returned (%q, %v), want %q", tt.id, got.Data, found, tt.want)
			}
		}
	})
}

// TestSetManyNoScript: after SCRIPT FLUSH the batch is resent with EVAL.
func TestSetManyNoScript(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		ctx := testContext(t)
		s, _ := newTestStore(t, tp, Options{})
		for _, n := range tp.nodes(t) {
			if err := n.ScriptFlush(ctx).Err(); err != nil {
				t.Fatal(err)
			}
		}
		var entries []store.Entry
		for i := range 50 {
			entries = append(entries, store.Entry{
				ID:     fmt.Sprint("id-", i),
				Record: store.Record{Data: []byte("x"), ExpiresAt: time.Now().Add(time.Hour), Version: uint64(i % 2)},
			})
		}
		applied, err := s.SetMany(ctx, entries)
		if err != nil {
			t.Fatalf("SetMany after SCRIPT FLUSH: %v", err)
		}
		for i, ok := range applied {
			if !ok {
				t.Fatalf("entry %d not applied, want every entry written", i)
			}
			if _, found, err := s.Get(ctx, entries[i].ID); err != nil || !found {
				t.Fatalf("entry %d: Get returned found %v, err %v, want the record", i, found, err)
			}
		}
	})
}

func TestSetManyEdges(t *testing.T) {
	s, _ := newTestStore(t, topologies[0], Options{})
	applied, err := s.SetMany(testContext(t), nil)
	if err != nil || len(applied) != 0 {
		t.Fatalf("SetMany(nil): got (%v, %v), want (empty, nil)", applied, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	applied, err = s.SetMany(ctx, []store.Entry{{ID: "id", Record: store.Record{Data: []byte("x")}}})
	if !errors.Is(err, context.Canceled) || len(applied) != 1 || applied[0] {
		t.Fatalf("SetMany(canceled ctx): got (%v, %v), want ([false], context.Canceled)", applied, err)
	}
}
