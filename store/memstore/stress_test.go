package memstore

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// TestConcurrentMix runs every method at once on a small, bounded id space
// with a moving clock, for the race detector and for one invariant: a Get
// or Scan never returns another id's data.
func TestConcurrentMix(t *testing.T) {
	clock := newFakeClock()
	s := newTestStore(t, WithClock(clock.Now), WithShards(4), WithMaxEntries(40), WithSweepInterval(time.Millisecond))
	ctx := t.Context()
	check := func(id string, r store.Record) {
		if !strings.HasPrefix(string(r.Data), id+"|") {
			t.Errorf("record under %q has data %q, want it to start with %q", id, r.Data, id+"|")
		}
	}
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for i := range 1500 {
				id := fmt.Sprintf("id-%d", rng.IntN(64))
				now := clock.Now()
				var err error
				switch op := rng.IntN(10); {
				case op < 4:
					var r store.Record
					var found bool
					r, found, err = s.Get(ctx, id)
					if found {
						check(id, r)
					}
				case op < 7:
					data := fmt.Sprintf("%s|%d|%d", id, g, i)
					exp := now.Add(time.Duration(rng.IntN(120)-10) * time.Second)
					err = s.Set(ctx, id, store.Record{Data: []byte(data), ExpiresAt: exp, Version: rng.Uint64N(20)})
				case op < 8:
					err = s.DeleteVersion(ctx, id, rng.Uint64N(20), now.Add(time.Minute))
				case op < 9:
					err = s.Delete(ctx, id)
				default:
					switch i % 4 {
					case 0:
						err = s.Scan(ctx, func(id string, r store.Record) error { check(id, r); return nil })
					case 1:
						s.Len()
					case 2:
						s.Sweep()
					default:
						clock.Advance(time.Second)
					}
				}
				if err != nil {
					t.Errorf("operation failed: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := s.rawLen(); got > 40 {
		t.Errorf("entries = %d, want at most 40", got)
	}
}
