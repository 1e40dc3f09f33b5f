package guard

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// The process-delay rows of the calibration table: a simulated process
// that stalls now and then, a simulated store, and the real guard between
// them, fed operation by operation through Record and the probe's
// observations on a manual process clock.

// Simulated constants: a healthy store answers in simRTT; the caller gives
// up after simTimeout (the Migrator's DistTimeout); 1,000 operations a
// second, spread evenly; the probe wakes every simProbe.
const (
	simRTT     = time.Millisecond
	simTimeout = 100 * time.Millisecond
	simProbe   = DefaultProbeInterval
	simWindow  = 100 * time.Millisecond
	simPerWin  = 100
)

// stallModel is one row's process and store.
type stallModel struct {
	name string
	// The process stalls stallLen at a time, stallsPerSec times a second on
	// average (Poisson); a stalled process starts no operation, reads no
	// answer and fires no timer until the stall ends: a pause of the whole
	// process (descheduled, a stop-the-world).
	stallLen     time.Duration
	stallsPerSec float64
	// Every wake-up (an answer read, a deadline, the probe) waits for a
	// CPU, independently, for an exponential time of mean wait: a long run
	// queue on a starved host. Independent draws are the probe's worst
	// case: it sees how long waits are, never the operation's own wait. In
	// a real run queue, goroutines woken at nearly the same moment wait
	// nearly as long.
	wait time.Duration
	// The store answers slowShare of the calls slowBy late; hang: it
	// answers none.
	slowShare float64
	slowBy    time.Duration
	hang      bool
}

func (m stallModel) String() string { return m.name }

// stallSim is one simulated run.
type stallSim struct {
	m     stallModel
	r     *rand.Rand
	g     *Guard
	mono  *monoClock
	probe bool // feed the guard the probe's observations

	stalls   [][2]int64 // drawn so far, in order; the ones long past dropped
	nextOp   int64      // when the next operation is due to start
	due      int64      // when the probe is due to wake
	wake     int64      // when it does, once drawn
	nextTick int64
	ops      []simOp // started, not yet recorded
}

// simOp is one operation's end as the guard sees it.
type simOp struct {
	end     int64
	o       Outcome
	latency time.Duration
}

func newStallSim(t testing.TB, m stallModel, probe bool, seed uint64) *stallSim {
	g, _ := newTestGuard(t, Settings{})
	s := &stallSim{m: m, r: rand.New(rand.NewPCG(seed, 99)), g: g, mono: useMonoClock(g), probe: probe}
	now := s.mono.now()
	s.nextOp, s.due, s.nextTick = now, now+int64(simProbe), now+int64(simWindow)
	s.stalls = append(s.stalls, [2]int64{now, now}) // an empty one to draw from
	if probe {
		g.delays.due.Store(s.due)
	}
	return s
}

// resume returns when the process can act on something due at t: at t,
// or when the stall t falls in ends.
func (s *stallSim) resume(t int64) int64 {
	if s.m.stallsPerSec == 0 {
		return t
	}
	for last := s.stalls[len(s.stalls)-1]; last[0] <= t; last = s.stalls[len(s.stalls)-1] {
		a := last[1] + int64(s.r.ExpFloat64()/s.m.stallsPerSec*float64(time.Second))
		s.stalls = append(s.stalls, [2]int64{a, a + int64(s.m.stallLen)})
	}
	i, _ := slices.BinarySearchFunc(s.stalls, t, func(st [2]int64, t int64) int {
		switch {
		case st[1] <= t:
			return -1
		case st[0] > t:
			return 1
		}
		return 0
	})
	if i < len(s.stalls) && s.stalls[i][0] <= t && t < s.stalls[i][1] {
		return s.stalls[i][1]
	}
	return t
}

// window simulates one window and ticks; it reports whether the guard
// tripped.
func (s *stallSim) window() bool {
	end := s.nextTick
	// Operations are due every millisecond; one due during a stall starts
	// when it ends.
	for s.nextOp < end {
		start := s.resume(s.nextOp)
		if start >= end {
			break
		}
		s.nextOp += int64(time.Second) / (10 * simPerWin)
		s.ops = append(s.ops, s.operation(start))
	}
	slices.SortFunc(s.ops, func(a, b simOp) int { return int(a.end - b.end) })
	// Deliver the operations' ends and the probe's wake-ups in time order,
	// operations first at equal times, the harder case: the probe has not
	// run yet and is overdue.
	i := 0
	for {
		if s.wake == 0 {
			s.wake = s.resume(s.due) + s.cpuWait()
		}
		wake := s.wake
		if i < len(s.ops) && s.ops[i].end < end && s.ops[i].end <= wake {
			op := s.ops[i]
			s.mono.ns.Store(op.end)
			s.g.Record(op.o, op.latency)
			i++
			continue
		}
		if wake >= end {
			break
		}
		s.mono.ns.Store(wake)
		if s.probe {
			s.g.delays.due.Store(0)
			s.g.delays.observe(wake, wake-s.due)
		}
		s.due, s.wake = wake+int64(simProbe), 0
		if s.probe {
			s.g.delays.due.Store(s.due)
		}
	}
	s.ops = s.ops[:copy(s.ops, s.ops[i:])]
	for len(s.stalls) > 1 && s.stalls[0][1] < end-int64(time.Second) {
		s.stalls = s.stalls[1:]
	}
	s.mono.ns.Store(end)
	s.g.tick(s.g.lastTick.Add(simWindow), s.g.drain())
	s.nextTick += int64(simWindow)
	return s.g.Tripped()
}

// operation simulates one call starting at start (the process running).
func (s *stallSim) operation(start int64) simOp {
	deadline := start + int64(simTimeout)
	answer := int64(math.MaxInt64)
	if !s.m.hang {
		answer = start + int64(simRTT)
		if s.r.Float64() < s.m.slowShare {
			answer += int64(s.m.slowBy)
		}
	}
	// The runtime runs expired timers before it polls the network, so a
	// deadline that passes while the process is stalled wins over an answer
	// that arrived meanwhile.
	o, at := Success, answer
	if answer > deadline || s.resume(answer) > deadline {
		o, at = Timeout, deadline
	}
	end := s.resume(at) + s.cpuWait()
	return simOp{end: end, o: o, latency: time.Duration(end - start)}
}

// cpuWait draws how long a wake-up waits for a CPU.
func (s *stallSim) cpuWait() int64 {
	if s.m.wait == 0 {
		return 0
	}
	return int64(s.r.ExpFloat64() * float64(s.m.wait))
}

// stallDelays runs the model until it trips, up to runs runs of at most
// perRun windows and budget windows in all.
func stallDelays(t testing.TB, m stallModel, probe bool, runs, perRun, budget int, seed uint64) simResult {
	var res simResult
	for ; runs > 0 && budget > 0; runs-- {
		s := newStallSim(t, m, probe, seed)
		seed++
		limit := min(perRun, budget)
		w := 1
		for ; w <= limit && !s.window(); w++ {
		}
		if w > limit {
			res.cleanRuns++
			res.cleanWindows += limit
			budget -= limit
			continue
		}
		res.trips = append(res.trips, w)
		budget -= w
	}
	return res
}

// The process-delay rows: healthy store with a stalling process (false
// trips, before and with the probe), and a slow or hung store with a quiet
// or stalling process (detection).
var stallRows = []struct {
	m    stallModel
	want string // "trip" or "hold" with the probe, checked without -calibrate too
}{
	{stallModel{name: "60 ms pauses, 5/s", stallLen: 60 * time.Millisecond, stallsPerSec: 5}, "hold"},
	{stallModel{name: "150 ms pauses, 1/s", stallLen: 150 * time.Millisecond, stallsPerSec: 1}, "hold"},
	{stallModel{name: "300 ms pauses, 1/s", stallLen: 300 * time.Millisecond, stallsPerSec: 1}, "hold"},
	{stallModel{name: "run queue, 10 ms mean wait", wait: 10 * time.Millisecond}, "hold"},
	{stallModel{name: "run queue, 25 ms mean wait", wait: 25 * time.Millisecond}, "hold"},
	{stallModel{name: "2% 70 ms late", slowShare: 0.02, slowBy: 70 * time.Millisecond}, "trip"},
	{stallModel{name: "2% 70 ms late, 150 ms pauses 1/s", slowShare: 0.02, slowBy: 70 * time.Millisecond, stallLen: 150 * time.Millisecond, stallsPerSec: 1}, "trip"},
	{stallModel{name: "2% 70 ms late, 10 ms wait", slowShare: 0.02, slowBy: 70 * time.Millisecond, wait: 10 * time.Millisecond}, ""},
	{stallModel{name: "all 70 ms late", slowShare: 1, slowBy: 70 * time.Millisecond}, "trip"},
	{stallModel{name: "all 70 ms late, 60 ms pauses 5/s", slowShare: 1, slowBy: 70 * time.Millisecond, stallLen: 60 * time.Millisecond, stallsPerSec: 5}, "trip"},
	{stallModel{name: "all 70 ms late, 25 ms wait", slowShare: 1, slowBy: 70 * time.Millisecond, wait: 25 * time.Millisecond}, ""},
	{stallModel{name: "hung", hang: true}, "trip"},
	{stallModel{name: "hung, 300 ms pauses 1/s", hang: true, stallLen: 300 * time.Millisecond, stallsPerSec: 1}, "trip"},
	{stallModel{name: "hung, 25 ms wait", hang: true, wait: 25 * time.Millisecond}, "trip"},
}

func TestCalibrationProcessDelay(t *testing.T) {
	runs, budget := 20, 300
	if testing.Short() {
		runs, budget = 5, 100
	}
	if *calibrate {
		runs, budget = 1_000, 1_000_000
	}
	var out strings.Builder
	fmt.Fprintf(&out, "| %-34s | %-36s | %-36s |\n", "process / store", "without the probe: mean, p50, p99 s", "with the probe")
	for i, row := range stallRows {
		without := stallDelays(t, row.m, false, runs, budget, budget, uint64(100*i))
		with := stallDelays(t, row.m, true, runs, budget, budget, uint64(100*i))
		fmt.Fprintf(&out, "| %-34s | %-36s | %-36s |\n", row.m, without.delays(), with.delays())
		switch row.want {
		case "hold":
			if len(with.trips) > 0 {
				t.Errorf("%s, healthy store: %d trips with the probe, want none", row.m, len(with.trips))
			}

		case "trip":
			// With the probe, detection within twice the delay without it
			// (plus a window), and every run trips.
			if with.cleanRuns > 0 || len(with.trips) == 0 {
				t.Errorf("%s: %d of %d runs did not trip with the probe", row.m, with.cleanRuns, with.cleanRuns+len(with.trips))
				continue
			}
			if w, wo := quantile(with.trips, 0.5), quantile(without.trips, 0.5); w > 2*wo+1 {
				t.Errorf("%s: median delay with the probe %d windows, without %d", row.m, w, wo)
			}
		}
	}
	t.Logf("process delay at 1,000 ops/s, default settings, %v per-operation timeout:\n%s", simTimeout, out.String())
}

// delays formats the detection delays as one table cell.
func (r simResult) delays() string {
	if len(r.trips) < 20 && (r.cleanRuns > 0 || len(r.trips) == 0) {
		return fmt.Sprintf("%d trips in %.2g ops", len(r.trips), simPerWin*float64(r.cleanWindows+sum(r.trips)))
	}
	return fmt.Sprintf("%.2g, %.2g, %.2g", 0.1*float64(sum(r.trips))/float64(len(r.trips)),
		0.1*float64(quantile(r.trips, 0.5)), 0.1*float64(quantile(r.trips, 0.99)))
}
