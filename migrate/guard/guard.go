package guard

import (
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Guard watches one instance's distributed-store operations and decides
// when to roll back. See the package doc for the signals and their
// calibration. A Guard is safe for concurrent use; create it with New.
type Guard struct {
	// Read by every Record, written only by New.
	stripes     []stripe
	stripeShift uint
	slow        time.Duration
	tripAfter   uint64

	consec paddedCounter // current run of failures
	state  atomic.Int32  // a State; written under mu

	cfg Settings // with defaults applied

	spillMu sync.Mutex
	spilled counts

	mu           sync.Mutex
	signals      [3]cusum // error rate, latency, availability
	pending      counts   // recorded but below MinWindowOps, held over
	pendingStart time.Time
	lastTick     time.Time
	quiet        int // Ticks in a row without an operation
	incidents    incidents
	incCount     int
	last         Evidence
	hasLast      bool

	delays stalls // what the probe saw; read by Record's rare path
	life   lifecycle
}

// paddedCounter keeps a counter that failures write off the cache lines
// every Record reads.
type paddedCounter struct {
	_ [64]byte
	n atomic.Uint64
	_ [56]byte
}

// maxStripes bounds the striped counters (128 bytes each).
const maxStripes = 256

// idleWindows is how many Ticks in a row without an operation make the
// probe slow down. More than one: a stall of the process that delays every
// operation past a Tick must not blind the probe that measures it.
const idleWindows = 10

// New returns an armed Guard. It returns an error wrapping
// ErrInvalidSettings if s has an out-of-range value. New starts no
// goroutine: call Start, or call Tick yourself.
func New(s Settings) (*Guard, error) {
	s, err := s.withDefaults()
	if err != nil {
		return nil, err
	}
	// Enough stripes that concurrent callers rarely share one.
	n := min(maxStripes, 4*runtime.GOMAXPROCS(0))
	b := bits.Len(uint(n - 1))
	g := &Guard{
		stripes:     make([]stripe, 1<<b),
		stripeShift: uint(64 - b),
		slow:        s.SlowThreshold,
		tripAfter:   uint64(s.ConsecutiveFailures),
		cfg:         s,
		signals: [3]cusum{
			newCUSUM(ReasonErrorRate, s.ErrorRate, failures),
			newCUSUM(ReasonLatency, s.Latency, slowOps),
			newCUSUM(ReasonAvailability, s.Availability, unavailable),
		},
		lastTick:  s.Now(),
		incidents: newIncidents(s.InconsistencyLimit, s.InconsistencyWindow),
	}
	g.delays.init()
	g.life.init()
	return g, nil
}

// Settings returns the settings in effect, defaults applied.
func (g *Guard) Settings() Settings { return g.cfg }

// State returns the current state without locking.
func (g *Guard) State() State { return State(g.state.Load()) }

// Tripped reports whether the guard is latched in StateTripped.
func (g *Guard) Tripped() bool { return g.State() == StateTripped }

// Paused reports whether the guard is in StatePaused. A tripped guard is not
// paused; callers deciding whether a ramp may advance should require
// State() == StateArmed.
func (g *Guard) Paused() bool { return g.State() == StatePaused }

// Scores returns every signal's current value. It does not allocate.
func (g *Guard) Scores() Scores {
	g.mu.Lock()
	defer g.mu.Unlock()
	return Scores{
		ErrorRate:           g.signals[0].s,
		Latency:             g.signals[1].s,
		Availability:        g.signals[2].s,
		ConsecutiveFailures: g.consec.n.Load(),
		Inconsistencies:     g.incCount,
	}
}

// LastTrip returns the evidence of the most recent trip, also after Reset;
// ok is false if the guard never tripped.
func (g *Guard) LastTrip() (ev Evidence, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.last, g.hasLast
}

// Tick evaluates the operations recorded since the previous Tick as one
// window ending at now, then trips, pauses or re-arms the guard. A window
// with fewer than Settings.MinWindowOps operations holds every score and is
// carried over into the next Tick. Scores keep moving while the guard is
// tripped; the state does not.
//
// Start's goroutine calls Tick every Settings.Interval; tests call it with
// a fake clock. Callbacks run on the caller's goroutine after Tick's lock is
// released.
func (g *Guard) Tick(now time.Time) { g.tick(now, g.drain()) }

// tick evaluates n as the window ending at now.
func (g *Guard) tick(now time.Time, n counts) {
	g.mu.Lock()
	c := g.tickLocked(now, n)
	g.mu.Unlock()
	g.notify(c)
}

func (g *Guard) tickLocked(now time.Time, n counts) change {
	if n.ops > 0 {
		g.quiet = 0
	} else {
		g.quiet++
	}
	g.delays.busy.Store(g.quiet < idleWindows)
	if g.pending.ops == 0 {
		g.pendingStart = g.lastTick
	}
	g.pending.add(n)
	g.lastTick = now
	var w Window
	if g.pending.ops >= uint64(g.cfg.MinWindowOps) {
		w = Window{Start: g.pendingStart, End: now}
		w.add(g.pending)
		for i := range g.signals {
			g.signals[i].update(w, g.pending)
		}
		g.pending = counts{}
	}
	g.incCount = g.incidents.count(now)
	return g.evaluate(now, w)
}

// evaluate decides the state after the scores moved. Called with mu held.
func (g *Guard) evaluate(now time.Time, w Window) change {
	st := g.State()
	if st == StateTripped {
		return change{}
	}
	// When several signals cross together, the one furthest past its
	// threshold is the reason.
	var hit *cusum
	for i := range g.signals {
		s := &g.signals[i]
		if s.tripped() && (hit == nil || s.s/s.h > hit.s/hit.h) {
			hit = s
		}
	}
	if hit != nil {
		ev := hit.evidence(w, hit.h)
		ev.At = now
		return g.tripLocked(ev)
	}
	switch st {
	case StateArmed:
		if ev, ok := g.pauseEvidence(now, w); ok {
			return g.setLocked(StatePaused, ev)
		}
	case StatePaused:
		if g.calm() {
			return g.setLocked(StateArmed, Evidence{})
		}
	}
	return change{}
}

// pauseEvidence returns why the guard should pause, if it should.
// Inconsistencies come first: they are the critical signal.
func (g *Guard) pauseEvidence(now time.Time, w Window) (Evidence, bool) {
	if g.incCount >= g.cfg.InconsistencyPause {
		return g.inconsistencyEvidence(now, float64(g.cfg.InconsistencyPause)), true
	}
	var hit *cusum
	for i := range g.signals {
		s := &g.signals[i]
		if s.pausing() && (hit == nil || s.s/s.pause > hit.s/hit.pause) {
			hit = s
		}
	}
	if hit == nil {
		return Evidence{}, false
	}
	ev := hit.evidence(w, hit.pause)
	ev.At = now
	return ev, true
}

func (g *Guard) calm() bool {
	if g.incCount >= g.cfg.InconsistencyPause {
		return false
	}
	for i := range g.signals {
		if !g.signals[i].calm() {
			return false
		}
	}
	return true
}

// Trip latches the guard by hand with ReasonManual, as if a signal had
// crossed. It reports whether this call tripped the guard (false if it was
// already tripped).
func (g *Guard) Trip(now time.Time) bool {
	g.mu.Lock()
	c := g.tripLocked(Evidence{Reason: ReasonManual, At: now})
	g.mu.Unlock()
	g.notify(c)
	return c.from != c.to
}

// tripInline trips on the consecutive-failure limit, from Record.
func (g *Guard) tripInline() {
	if g.Tripped() {
		return
	}
	now := g.cfg.Now()
	n := float64(g.tripAfter)
	g.mu.Lock()
	c := g.tripLocked(Evidence{Reason: ReasonConsecutiveFailures, At: now, Score: n, Threshold: n})
	g.mu.Unlock()
	g.notify(c)
}

// Reset re-arms the guard: the operator's resume. It clears the latch, the
// pause, every score, the consecutive-failure run, the inconsistency
// history and the operations recorded but not yet evaluated, so stale
// evidence cannot trip it again. LastTrip is kept.
func (g *Guard) Reset() {
	now := g.cfg.Now()
	g.mu.Lock()
	g.drain()
	for i := range g.signals {
		g.signals[i].reset()
	}
	g.pending = counts{}
	g.lastTick = now
	g.incidents.clear()
	g.incCount = 0
	g.consec.n.Store(0)
	c := g.setLocked(StateArmed, Evidence{})
	g.mu.Unlock()
	g.notify(c)
}

// change is a state transition to announce once the lock is released.
// from == to means nothing happened.
type change struct {
	from, to State
	ev       Evidence
}

// tripLocked latches the guard unless it already is. Called with mu held.
func (g *Guard) tripLocked(ev Evidence) change {
	if g.State() == StateTripped {
		return change{}
	}
	g.last, g.hasLast = ev, true
	return g.setLocked(StateTripped, ev)
}

func (g *Guard) setLocked(to State, ev Evidence) change {
	from := g.State()
	g.state.Store(int32(to))
	return change{from: from, to: to, ev: ev}
}

func (g *Guard) notify(c change) {
	if c.from == c.to {
		return
	}
	if f := g.cfg.OnStateChange; f != nil {
		f(c.from, c.to)
	}
	switch c.to {
	case StateTripped:
		if f := g.cfg.OnTrip; f != nil {
			f(c.ev)
		}
	case StatePaused:
		if f := g.cfg.OnPause; f != nil {
			f(c.ev)
		}
	}
}
