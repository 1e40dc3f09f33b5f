package router

import (
	"sync"
	"testing"
	"time"
)

func TestHLCNext(t *testing.T) {
	var h hlc
	now := epoch
	v1 := h.next(now)
	if want := uint64(now.UnixMicro()) << logicalBits; v1 != want {
		t.Fatalf("first version: got %d, want %d (wall clock µs << %d)", v1, want, logicalBits)
	}
	if v2 := h.next(now); v2 != v1+1 {
		t.Fatalf("second version in the same µs: got %d, want %d (logical +1)", v2, v1+1)
	}
	// A clock that steps back issues versions above the last one anyway.
	if v3 := h.next(now.Add(-time.Hour)); v3 != v1+2 {
		t.Fatalf("version after the clock stepped back: got %d, want %d", v3, v1+2)
	}
	later := now.Add(time.Second)
	if v4, want := h.next(later), uint64(later.UnixMicro())<<logicalBits; v4 != want {
		t.Fatalf("version a second later: got %d, want %d (the wall clock again)", v4, want)
	}
}

func TestHLCObserve(t *testing.T) {
	clock := func() time.Time { return epoch }
	tests := []struct {
		name     string
		seen     time.Duration // how far ahead of epoch the observed version is
		adopted  bool
		nextWant func(seen uint64) uint64
	}{
		{"behind is ignored", -time.Second, true, func(uint64) uint64 { return versionAt(epoch) }},
		{"2s ahead is adopted", 2 * time.Second, true, func(seen uint64) uint64 { return seen + 1 }},
		{"23h ahead is adopted", 23 * time.Hour, true, func(seen uint64) uint64 { return seen + 1 }},
		{"25h ahead is refused", 25 * time.Hour, false, func(uint64) uint64 { return versionAt(epoch) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h hlc
			seen := versionAt(epoch.Add(tt.seen)) + 7
			if got := h.observe(seen, clock); got != tt.adopted {
				t.Fatalf("observe: got %v, want %v", got, tt.adopted)
			}
			if got, want := h.next(epoch), tt.nextWant(seen); got != want {
				t.Fatalf("next after observe: got %d, want %d", got, want)
			}
		})
	}
}

// TestHLCConcurrent: versions from many goroutines, with observations mixed
// in, are unique and increasing per goroutine.
func TestHLCConcurrent(t *testing.T) {
	var h hlc
	clock := func() time.Time { return epoch }
	const goroutines, per = 8, 5000
	got := make([][]uint64, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				if i%100 == 0 {
					h.observe(h.current()+50, clock)
				}
				got[g] = append(got[g], h.next(epoch))
			}
		}()
	}
	wg.Wait()
	seen := map[uint64]bool{}
	for g, vs := range got {
		for i, v := range vs {
			if seen[v] {
				t.Fatalf("version %d issued twice", v)
			}
			seen[v] = true
			if i > 0 && v <= vs[i-1] {
				t.Fatalf("goroutine %d: version %d after %d, want increasing", g, v, vs[i-1])
			}
		}
	}
}
