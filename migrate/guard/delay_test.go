package guard

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// monoClock replaces the guard's process clock (nanoseconds since its base)
// by a manual one starting an hour in, so stalls can be placed before now.
type monoClock struct{ ns atomic.Int64 }

func useMonoClock(g *Guard) *monoClock {
	c := &monoClock{}
	c.ns.Store(int64(time.Hour))
	g.delays.now = c.ns.Load
	return c
}

func (c *monoClock) now() int64 { return c.ns.Load() }

func (c *monoClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// stall records that the probe found the process stalled for over, ending
// ago before now.
func (c *monoClock) stall(g *Guard, ago, over time.Duration) {
	end := c.now() - int64(ago)
	g.delays.observe(end, int64(over))
}

func TestProcessDelayExplainsOperations(t *testing.T) {
	type stall struct{ ago, over time.Duration }
	for _, tc := range []struct {
		name    string
		stalls  []stall
		overdue time.Duration // the probe is due this long ago and has not woken
		o       Outcome
		latency time.Duration
		want    counts
		run     uint64 // consecutive failures afterwards
	}{
		{"slow, quiet process", nil, 0, Success, 90 * time.Millisecond,
			counts{ops: 1, slow: 1}, 0},
		{"slow inside a stall", []stall{{0, 80 * time.Millisecond}}, 0, Success, 90 * time.Millisecond,
			counts{ops: 1, delayed: 1}, 0},
		{"stall shorter than the excess", []stall{{0, 30 * time.Millisecond}}, 0, Success, 100 * time.Millisecond,
			counts{ops: 1, slow: 1}, 0},
		{"stall before the operation", []stall{{200 * time.Millisecond, 150 * time.Millisecond}}, 0, Success, 90 * time.Millisecond,
			counts{ops: 1, slow: 1}, 0},
		{"two stalls add up", []stall{{40 * time.Millisecond, 30 * time.Millisecond}, {0, 30 * time.Millisecond}}, 0, Success, 100 * time.Millisecond,
			counts{ops: 1, delayed: 1}, 0},
		{"two stalls do not add up for a timeout", []stall{{40 * time.Millisecond, 30 * time.Millisecond}, {0, 30 * time.Millisecond}}, 0, Timeout, 100 * time.Millisecond,
			counts{ops: 1, fail: 1, down: 1, slow: 1}, 1},
		{"the longest stall excuses a timeout", []stall{{60 * time.Millisecond, 10 * time.Millisecond}, {0, 55 * time.Millisecond}}, 0, Timeout, 100 * time.Millisecond,
			counts{delayed: 1}, 0},
		{"only the overlap counts", []stall{{40 * time.Millisecond, 100 * time.Millisecond}}, 0, Success, 90 * time.Millisecond,
			counts{ops: 1, delayed: 1}, 0},
		{"only the overlap counts, too little", []stall{{70 * time.Millisecond, 100 * time.Millisecond}}, 0, Success, 90 * time.Millisecond,
			counts{ops: 1, slow: 1}, 0},
		{"probe overdue", nil, 70 * time.Millisecond, Success, 80 * time.Millisecond,
			counts{ops: 1, delayed: 1}, 0},
		{"fast, in a stall", []stall{{0, 80 * time.Millisecond}}, 0, Success, time.Millisecond,
			counts{ops: 1}, 0},
		{"timeout, quiet process", nil, 0, Timeout, 100 * time.Millisecond,
			counts{ops: 1, fail: 1, down: 1, slow: 1}, 1},
		{"timeout inside a stall", []stall{{0, 120 * time.Millisecond}}, 0, Timeout, 130 * time.Millisecond,
			counts{delayed: 1}, 0},
		{"timeout, probe overdue", nil, 110 * time.Millisecond, Timeout, 120 * time.Millisecond,
			counts{delayed: 1}, 0},
		{"short timeout in a stall", []stall{{0, 30 * time.Millisecond}}, 0, Timeout, 40 * time.Millisecond,
			counts{ops: 1, fail: 1, down: 1}, 1},
		{"refused in a stall", []stall{{0, 120 * time.Millisecond}}, 0, Unavailable, 130 * time.Millisecond,
			counts{ops: 1, fail: 1, down: 1, delayed: 1}, 1},
		{"error reply in a stall", []stall{{0, 120 * time.Millisecond}}, 0, Failure, 130 * time.Millisecond,
			counts{ops: 1, fail: 1, delayed: 1}, 1},
		{"canceled in a stall", []stall{{0, 120 * time.Millisecond}}, 0, Canceled, 130 * time.Millisecond,
			counts{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, _ := newTestGuard(t, Settings{})
			clk := useMonoClock(g)
			for _, s := range tc.stalls {
				clk.stall(g, s.ago, s.over)
			}
			if tc.overdue > 0 {
				g.delays.due.Store(clk.now() - int64(tc.overdue))
			}
			g.Record(tc.o, tc.latency)
			got := g.drain()
			got.delay = 0
			if got != tc.want {
				t.Errorf("Record(%s, %v): counts got %+v, want %+v", tc.o, tc.latency, got, tc.want)
			}
			if n := g.consec.n.Load(); n != tc.run {
				t.Errorf("consecutive failures got %d, want %d", n, tc.run)
			}
		})
	}
}

// stalledWindows runs windows of 100 operations of latency lat, each
// window's operations ending inside a stall of over that the probe saw,
// and reports whether and when the guard tripped.
func stalledWindows(t *testing.T, g *Guard, clk *fakeClock, mono *monoClock, windows int, o Outcome, lat, over time.Duration) (int, bool) {
	t.Helper()
	return run(g, clk, windows, func() {
		mono.advance(100 * time.Millisecond)
		if over > 0 {
			mono.stall(g, 0, over)
		}
		for i := range 100 {
			g.Record(o, lat+time.Duration(i))
		}
	})
}

func TestProcessDelayHoldsTheLatencySignal(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lat      time.Duration
		stall    time.Duration
		wantTrip bool
	}{
		// Every operation 90 ms: a slow store unless the process itself
		// was stalled for (nearly) as long.
		{"slow operations, quiet process", 90 * time.Millisecond, 0, true},
		{"slow operations, process stalled as long", 90 * time.Millisecond, 80 * time.Millisecond, false},
		{"slow operations, process stalled less", 90 * time.Millisecond, 20 * time.Millisecond, true},
		// The store adds 150 ms while the process stalls for 80 ms: the
		// store is slow net of the stall.
		{"slow store, stalled process", 230 * time.Millisecond, 80 * time.Millisecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, clk := newTestGuard(t, Settings{})
			mono := useMonoClock(g)
			w, tripped := stalledWindows(t, g, clk, mono, 15, Success, tc.lat, tc.stall)
			if tripped != tc.wantTrip {
				t.Fatalf("tripped got %v after %d windows (scores %+v), want %v", tripped, w, g.Scores(), tc.wantTrip)
			}
			if !tripped {
				if s := g.Scores().Latency; s != 0 {
					t.Errorf("latency score got %.2f, want 0", s)
				}
				return
			}
			ev, _ := g.LastTrip()
			if ev.Reason != ReasonLatency || w > 2 {
				t.Errorf("trip got %s after %d windows, want %s within 2 (as without any stall)", ev.Reason, w, ReasonLatency)
			}
			if tc.stall > 0 && ev.Window.ProcessDelay != tc.stall {
				t.Errorf("evidence ProcessDelay got %v, want %v", ev.Window.ProcessDelay, tc.stall)
			}
		})
	}
}

func TestProcessDelayEvidence(t *testing.T) {
	g, clk := newTestGuard(t, Settings{})
	mono := useMonoClock(g)
	mono.stall(g, 0, 80*time.Millisecond)
	for range 50 {
		g.Record(Success, 90*time.Millisecond) // delayed
	}
	for range 10 {
		g.Record(Success, 200*time.Millisecond) // slow net of the stall
	}
	g.Tick(clk.Advance(100 * time.Millisecond))
	ev, ok := g.LastTrip()
	if !ok {
		t.Fatalf("not tripped by 10 slow operations in 60, scores %+v", g.Scores())
	}
	want := Window{Start: ev.Window.Start, End: ev.Window.End, Ops: 60, Slow: 10, Delayed: 50, ProcessDelay: 80 * time.Millisecond}
	if ev.Window != want || ev.Run != want {
		t.Errorf("evidence window got %+v and run %+v, want %+v", ev.Window, ev.Run, want)
	}
}

func TestTimeoutsInAStallDoNotTripButAnOutageStillDoes(t *testing.T) {
	var rec recorder
	g, _ := newTestGuard(t, rec.settings(Settings{}))
	mono := useMonoClock(g)
	// The process was stalled 125 ms: 100 operations under a 100 ms
	// deadline timed out at 130 ms. The answers may have been waiting.
	mono.stall(g, 0, 125*time.Millisecond)
	for range 100 {
		g.Record(Timeout, 130*time.Millisecond)
	}
	if g.Tripped() || g.consec.n.Load() != 0 {
		t.Fatalf("after timeouts inside a stall: state %s, run %d; want armed, 0", g.State(), g.consec.n.Load())
	}
	// A second later the process runs freely and the store still does not
	// answer: the eighth timeout in a row trips inline, as before.
	mono.advance(time.Second)
	for i := range 8 {
		if g.Tripped() {
			t.Fatalf("tripped after %d timeouts, want 8", i)
		}
		g.Record(Timeout, 101*time.Millisecond)
	}
	if ev, ok := g.LastTrip(); !ok || ev.Reason != ReasonConsecutiveFailures {
		t.Errorf("trip got %+v, %v; want %s", ev, ok, ReasonConsecutiveFailures)
	}
}

func TestStallLogKeepsTheNewest(t *testing.T) {
	g, _ := newTestGuard(t, Settings{})
	mono := useMonoClock(g)
	// More stalls than the ring holds, each longer than the one after: an
	// operation spanning them all is judged on the newest stallRing only.
	for i := 2 * stallRing; i > 0; i-- {
		mono.stall(g, time.Duration(i)*time.Second, time.Duration(i)*time.Millisecond)
	}
	total, longest := g.delays.own(mono.now(), int64(time.Hour))
	if got, want := time.Duration(longest), stallRing*time.Millisecond; got != want {
		t.Errorf("longest stall got %v, want %v", got, want)
	}
	if got, want := time.Duration(total), stallRing*(stallRing+1)/2*time.Millisecond; got != want {
		t.Errorf("total of the stalls got %v, want %v", got, want)
	}
	// Overshoots under minStall are timer slack: not stalls.
	g2, _ := newTestGuard(t, Settings{})
	mono2 := useMonoClock(g2)
	mono2.stall(g2, 0, minStall-1)
	if total, _ := g2.delays.own(mono2.now(), int64(time.Second)); total != 0 {
		t.Errorf("own delay after timer slack got %v, want 0", time.Duration(total))
	}
	if got := g2.drain().delay; got != minStall-1 {
		t.Errorf("window's process delay got %v, want %v (reported, not excused)", got, minStall-1)
	}
}

func TestProbeMeasuresStalls(t *testing.T) {
	g, err := New(Settings{ProbeInterval: time.Millisecond, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	// The probe's clock jumps 80 ms while it sleeps, as if the process had
	// not run for that long.
	var jump atomic.Int64
	real := g.delays.now
	g.delays.now = func() int64 { return real() + jump.Load() }
	g.Start()
	deadline := time.Now().Add(10 * time.Second)
	for g.delays.next.Load() == 0 || time.Duration(g.delays.worst.Load()) < 80*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatalf("probe saw no 80 ms stall in 10 s (%d stalls, worst %v)", g.delays.next.Load(), time.Duration(g.delays.worst.Load()))
		}
		jump.Add(int64(80 * time.Millisecond))
		time.Sleep(20 * time.Millisecond)
	}
	// A 90 ms operation ending now overlaps that stall.
	if !g.explained(Success, 90*time.Millisecond) {
		t.Errorf("a 90 ms operation ending just after an 80 ms stall was not explained; own delay %v",
			ownDelay(g, 90*time.Millisecond))
	}
}

func TestProbeRacesRecord(t *testing.T) {
	g, err := New(Settings{ProbeInterval: 100 * time.Microsecond, Interval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	g.Start()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range 20_000 {
				g.Record(Success, 60*time.Millisecond+time.Duration(i))
				g.Record(Timeout, 100*time.Millisecond+time.Duration(i))
			}
		})
	}
	wg.Wait()
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestProbeDisabled(t *testing.T) {
	g, err := New(Settings{DisableProbe: true, Interval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	g.Start()
	time.Sleep(20 * time.Millisecond)
	if n := g.delays.next.Load(); n != 0 || g.explained(Success, time.Hour) {
		t.Errorf("with DisableProbe: %d stalls recorded, explained %v; want none", n, g.explained(Success, time.Hour))
	}
	g.Close()
}

// ownDelay is the total of the stalls overlapping an operation of latency
// ending now.
func ownDelay(g *Guard, latency time.Duration) time.Duration {
	total, _ := g.delays.own(g.delays.now(), int64(latency))
	return time.Duration(total)
}

func TestProbeSlowsDownWithoutTraffic(t *testing.T) {
	g, clk := newTestGuard(t, Settings{})
	if !g.delays.busy.Load() {
		t.Fatal("a new guard's probe is idle, want it at full rate until a Tick sees no traffic")
	}
	// A stall can hold every operation past a Tick or two: the probe must
	// keep measuring it.
	for i := range idleWindows {
		if !g.delays.busy.Load() {
			t.Fatalf("after %d windows without operations the probe is idle, want busy until %d", i, idleWindows)
		}
		g.Tick(clk.Advance(100 * time.Millisecond))
	}
	if g.delays.busy.Load() {
		t.Errorf("after %d windows without operations the probe is busy, want idle", idleWindows)
	}
	g.Record(Success, time.Millisecond)
	g.Tick(clk.Advance(100 * time.Millisecond))
	if !g.delays.busy.Load() {
		t.Error("after a window with an operation the probe is idle, want busy")
	}
}
