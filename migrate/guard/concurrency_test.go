package guard

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// workload is what one goroutine records in the concurrency tests, and the
// counts it must add up to.
func workload(n int) (ops []Outcome, lat []time.Duration, want counts) {
	for i := range n {
		o, l := Success, time.Duration(i%997)*time.Microsecond
		switch {
		case i%7 == 0:
			o = Canceled
		case i%101 == 0:
			o = Unavailable
		case i%53 == 0:
			o = Failure
		}
		if i%29 == 0 {
			l = slow
		}
		ops, lat = append(ops, o), append(lat, l)
		if o == Canceled {
			continue
		}
		want.ops++
		if o != Success {
			want.fail++
		}
		if o == Unavailable {
			want.down++
		}
		if l > DefaultSlowThreshold {
			want.slow++
		}
	}
	return ops, lat, want
}

func TestConcurrentRecordConservesCounts(t *testing.T) {
	const goroutines, perG = 8, 20_000
	for _, tc := range []struct {
		name      string
		oneStripe bool // every goroutine on one counter: spills happen
		drainLive bool // drain while recording, as Tick does
	}{
		{"striped, drained live", false, true},
		{"one stripe, spilling", true, false},
		{"one stripe, spilling, drained live", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, _ := newTestGuard(t, Settings{ConsecutiveFailures: maxCount})
			if tc.oneStripe {
				g.stripes, g.stripeShift = g.stripes[:1], 64
			}
			ops, lat, one := workload(perG)
			var got counts
			stop := make(chan struct{})
			drained := make(chan struct{})
			go func() {
				defer close(drained)
				for tc.drainLive {
					select {
					case <-stop:
						return
					default:
						got.add(g.drain())
					}
				}
			}()
			var wg sync.WaitGroup
			for range goroutines {
				wg.Go(func() {
					for i, o := range ops {
						g.Record(o, lat[i])
					}
				})
			}
			wg.Wait()
			close(stop)
			<-drained
			got.add(g.drain())
			want := counts{ops: one.ops * goroutines, fail: one.fail * goroutines, down: one.down * goroutines, slow: one.slow * goroutines}
			if got != want {
				t.Errorf("counts got %+v, want %+v", got, want)
			}
		})
	}
}

func TestConcurrentTripsCallOnTripOnce(t *testing.T) {
	var trips, changes atomic.Int32
	g, clk := newTestGuard(t, Settings{
		OnTrip:        func(Evidence) { trips.Add(1) },
		OnStateChange: func(from, to State) { changes.Add(1) },
	})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range 2_000 {
				g.Record(Failure, time.Duration(i))
				if i%100 == 0 {
					_ = g.Scores()
				}
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			g.Tick(clk.Advance(100 * time.Millisecond))
		}
	})
	wg.Go(func() {
		for range 3 {
			g.ReportInconsistency(clk.Now())
		}
	})
	wg.Go(func() { g.Trip(clk.Now()) })
	wg.Wait()
	if !g.Tripped() || trips.Load() != 1 {
		t.Errorf("state %s, OnTrip calls %d; want tripped, 1", g.State(), trips.Load())
	}
	// At most armed>paused>tripped.
	if n := changes.Load(); n < 1 || n > 2 {
		t.Errorf("OnStateChange calls got %d, want 1 or 2", n)
	}
}
