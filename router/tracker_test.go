package router

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestTrackerMarkNewerReplacesOlderKeeps(t *testing.T) {
	until := epoch.Add(time.Hour)
	tests := []struct {
		name        string
		first       entry
		second      entry
		wantKind    opKind
		wantVersion uint64
	}{
		{"newer set replaces", entry{kind: opSet, version: 5}, entry{kind: opSet, version: 7}, opSet, 7},
		{"newer delete replaces set", entry{kind: opSet, version: 5}, entry{kind: opDelete, version: 7}, opDelete, 7},
		{"older set keeps delete", entry{kind: opDelete, version: 7}, entry{kind: opSet, version: 5}, opDelete, 7},
		{"older delete keeps set", entry{kind: opSet, version: 7}, entry{kind: opDelete, version: 5}, opSet, 7},
		{"equal version takes the later kind", entry{kind: opSet, version: 7}, entry{kind: opDelete, version: 7}, opDelete, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTracker(DefaultMaxUnsynced)
			tr.Mark("a", tt.first.kind, tt.first.version, until, false)
			tr.Mark("a", tt.second.kind, tt.second.version, until, false)
			e, ok := tr.Lookup("a")
			if !ok {
				t.Fatal("Lookup: not tracked, want tracked")
			}
			if e.kind != tt.wantKind || e.version != tt.wantVersion {
				t.Fatalf("got kind %d version %d, want kind %d version %d", e.kind, e.version, tt.wantKind, tt.wantVersion)
			}
			if got := tr.Len(); got != 1 {
				t.Fatalf("Len: got %d, want 1", got)
			}
		})
	}
}

func TestTrackerMarkQueueOnce(t *testing.T) {
	tr := newTracker(DefaultMaxUnsynced)
	if tr.Mark("a", opSet, 1, time.Time{}, false) != markTracked {
		t.Fatal("Mark(queue=false): got enqueue, want tracked only")
	}
	if tr.Mark("a", opSet, 2, time.Time{}, true) != markQueue {
		t.Fatal("first Mark(queue=true): got no enqueue, want markQueue")
	}
	if tr.Mark("a", opSet, 3, time.Time{}, true) != markTracked {
		t.Fatal("second Mark(queue=true) while queued: got enqueue, want tracked only")
	}
	e, ok := tr.Unqueue("a")
	if !ok || e.queued || e.version != 3 {
		t.Fatalf("Unqueue: got %+v, %v; want version 3, not queued, tracked", e, ok)
	}
	if tr.Mark("a", opSet, 4, time.Time{}, true) != markQueue {
		t.Fatal("Mark(queue=true) after Unqueue: got no enqueue, want markQueue")
	}
	if _, ok := tr.Unqueue("missing"); ok {
		t.Fatal("Unqueue of an untracked id: got tracked, want not")
	}
}

func TestTrackerClear(t *testing.T) {
	tests := []struct {
		name     string
		version  uint64
		queued   bool
		clearAt  uint64
		wantKept bool
	}{
		{"applied newer clears", 5, false, 6, false},
		{"applied equal clears", 5, false, 5, false},
		{"applied older keeps", 5, false, 4, true},
		{"queued keeps even when covered", 5, true, 9, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTracker(DefaultMaxUnsynced)
			tr.Mark("a", opSet, tt.version, time.Time{}, tt.queued)
			tr.Clear("a", tt.clearAt)
			if got := tr.Has("a"); got != tt.wantKept {
				t.Fatalf("Has after Clear(%d): got %v, want %v", tt.clearAt, got, tt.wantKept)
			}
			wantLen := 0
			if tt.wantKept {
				wantLen = 1
			}
			if got := tr.Len(); got != wantLen {
				t.Fatalf("Len: got %d, want %d", got, wantLen)
			}
		})
	}
}

func TestTrackerClearUntrackedKeepsLen(t *testing.T) {
	tr := newTracker(DefaultMaxUnsynced)
	tr.Clear("a", 10) // empty tracker
	tr.Mark("b", opSet, 1, time.Time{}, false)
	tr.Clear("a", 10) // tracker not empty, id absent
	tr.Clear("b", 1)
	tr.Clear("b", 1) // twice
	if got := tr.Len(); got != 0 {
		t.Fatalf("Len: got %d, want 0", got)
	}
}

func TestTrackerPending(t *testing.T) {
	tr := newTracker(DefaultMaxUnsynced)
	for i := range 10 {
		tr.Mark(fmt.Sprintf("id-%d", i), opSet, 1, time.Time{}, false)
	}
	tr.Mark("queued", opSet, 1, time.Time{}, true)

	first := tr.Pending(4)
	if len(first) != 4 {
		t.Fatalf("Pending(4): got %d ids, want 4", len(first))
	}
	if slices.Contains(first, "queued") {
		t.Fatal("Pending returned an id already queued")
	}
	for _, id := range first {
		if e, _ := tr.Lookup(id); !e.queued {
			t.Fatalf("Pending did not flag %s queued", id)
		}
	}
	rest := tr.Pending(100)
	if len(rest) != 6 {
		t.Fatalf("second Pending(100): got %d ids, want the 6 not yet queued", len(rest))
	}
	for _, id := range rest {
		if slices.Contains(first, id) {
			t.Fatalf("Pending returned %s twice", id)
		}
	}
	if got := tr.Pending(100); len(got) != 0 {
		t.Fatalf("Pending with everything queued: got %d ids, want 0", len(got))
	}
	if got := tr.Pending(0); got != nil {
		t.Fatalf("Pending(0): got %v, want nil", got)
	}
	if got := tr.Len(); got != 11 {
		t.Fatalf("Len: got %d, want 11 (Pending must not remove)", got)
	}
}

// TestTrackerConcurrent hammers a few ids from many goroutines (run with
// -race) and checks that Len never goes negative and ends equal to the
// number of entries.
func TestTrackerConcurrent(t *testing.T) {
	tr := newTracker(DefaultMaxUnsynced)
	ids := []string{"a", "b", "c", "d", "e"}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	negative := make(chan int, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if n := tr.Len(); n < 0 {
				select {
				case negative <- n:
				default:
				}
			}
		}
	}()
	var workers sync.WaitGroup
	for g := range 8 {
		workers.Add(1)
		go func() {
			defer workers.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for range 3000 {
				id := ids[rng.IntN(len(ids))]
				v := rng.Uint64N(50)
				switch rng.IntN(5) {
				case 0:
					tr.Mark(id, opSet, v, time.Time{}, rng.IntN(2) == 0)
				case 1:
					tr.Mark(id, opDelete, v, time.Time{}, false)
				case 2:
					tr.Unqueue(id)
				case 3:
					tr.Clear(id, v)
				case 4:
					for _, p := range tr.Pending(2) {
						tr.Unqueue(p)
					}
				}
				tr.Has(id)
				tr.Lookup(id)
			}
		}()
	}
	workers.Wait()
	close(stop)
	wg.Wait()
	select {
	case n := <-negative:
		t.Fatalf("Len went negative: %d", n)
	default:
	}
	entries := 0
	for i := range tr.shards {
		entries += len(tr.shards[i].m)
	}
	if got := tr.Len(); got != entries {
		t.Fatalf("Len: got %d, want %d (entries in the shards)", got, entries)
	}
	// Everything unqueued and cleared at a high version empties the tracker.
	for _, id := range ids {
		tr.Unqueue(id)
		tr.Clear(id, 1000)
	}
	if got := tr.Len(); got != 0 {
		t.Fatalf("Len after clearing every id: got %d, want 0", got)
	}
}
