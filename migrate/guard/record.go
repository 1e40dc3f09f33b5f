package guard

import (
	"sync/atomic"
	"time"
)

// Outcome classifies one distributed-store operation for [Guard.Record]. The
// caller decides; [Classify] implements the usual rules for errors from
// net, context and io.
type Outcome uint8

const (
	// Success is an operation the store answered without error, including
	// a miss (found == false).
	Success Outcome = iota
	// Failure is an operation the store answered with an error, or one
	// whose error is not connection-class. It counts towards the error
	// rate and the consecutive-failure limit.
	Failure
	// Unavailable is an operation that did not reach the store or got no
	// answer in time: dial and connection errors, resets, I/O and
	// operation timeouts. It counts as a Failure and, in addition, towards
	// availability.
	Unavailable
	// Canceled is an operation abandoned because the caller's own context
	// ended. It is not counted anywhere: it says nothing about the store.
	Canceled
)

// String returns the outcome's name in lower case ("success", "failure",
// "unavailable", "canceled"), usable as a metric label value.
func (o Outcome) String() string {
	switch o {
	case Success:
		return "success"
	case Failure:
		return "failure"
	case Unavailable:
		return "unavailable"
	case Canceled:
		return "canceled"
	default:
		return "invalid"
	}
}

// Record feeds one distributed-store operation to the guard. latency is the
// operation's duration as the caller measured it; it is compared with
// Settings.SlowThreshold for every outcome but Canceled.
//
// Record is the hot path: it takes no lock, does not allocate and costs one
// atomic add for a successful operation. When the operation is the
// Settings.ConsecutiveFailures-th failure in a row, Record trips the guard
// before it returns and runs OnStateChange and OnTrip on the calling
// goroutine. An Outcome other than the four constants counts as Failure.
//
// Under concurrency "consecutive" means consecutive in the order the guard
// observes them: any success resets the run. Record is safe for concurrent
// use, also while the guard is tripped (the scores keep moving, so operators
// can see the store recover before they resume).
func (g *Guard) Record(o Outcome, latency time.Duration) {
	d := uint64(1) << opsShift
	switch o {
	case Success:
		// A plain load keeps the cache line shared between cores while
		// everything succeeds; only the first success after a failure
		// writes.
		if g.consec.n.Load() != 0 {
			g.consec.n.Store(0)
		}
	case Canceled:
		return
	case Unavailable:
		d |= 1<<failShift | 1<<downShift
		g.failed()
	default:
		d |= 1 << failShift
		g.failed()
	}
	if latency > g.slow {
		d |= 1 << slowShift
	}
	// The stripe is picked from the measured latency, whose low bits vary
	// at nanosecond resolution between concurrent callers: a free source
	// of spreading. Equal latencies merely share a stripe.
	s := &g.stripes[(uint64(latency)*0x9e3779b97f4a7c15)>>g.stripeShift]
	if s.n.Add(d)&fieldMask >= spillAt {
		g.spill(s)
	}
}

// failed counts one failure towards the consecutive-failure limit and trips
// the guard inline on the limit-th. Equality (not >=) means exactly one
// caller per run of failures takes the slow path, so an ongoing outage does
// not queue every failing request on the guard's lock.
func (g *Guard) failed() {
	if g.consec.n.Add(1) == g.tripAfter {
		g.tripInline()
	}
}

// Counts are packed four to a 64-bit word so one atomic add records an
// operation: ops, failures, unavailable, slow; 16 bits each. Every operation
// adds 1 to ops and at most 1 to each other field, so no field exceeds ops
// and overflow is prevented by spilling a stripe once ops reaches spillAt,
// leaving 2^15 operations of headroom for callers racing the spill.
const (
	fieldBits = 16
	fieldMask = 1<<fieldBits - 1
	opsShift  = 0
	failShift = fieldBits
	downShift = 2 * fieldBits
	slowShift = 3 * fieldBits
	spillAt   = 1 << 15
)

// stripe is one packed counter on its own pair of cache lines (adjacent-line
// prefetch makes 64 bytes too few on common x86 parts).
type stripe struct {
	n atomic.Uint64
	_ [120]byte
}

// counts is a window's tally.
type counts struct {
	ops, fail, down, slow uint64
}

func unpack(v uint64) counts {
	return counts{
		ops:  v >> opsShift & fieldMask,
		fail: v >> failShift & fieldMask,
		down: v >> downShift & fieldMask,
		slow: v >> slowShift & fieldMask,
	}
}

func (c *counts) add(o counts) {
	c.ops += o.ops
	c.fail += o.fail
	c.down += o.down
	c.slow += o.slow
}

// spill moves a nearly full stripe into the wide accumulator. It is rare
// (2^15 operations on one stripe between two ticks), so a mutex is fine; the
// mutex makes the four wide fields change together as Tick sees them.
func (g *Guard) spill(s *stripe) {
	c := unpack(s.n.Swap(0))
	g.spillMu.Lock()
	g.spilled.add(c)
	g.spillMu.Unlock()
}

// drain takes every count recorded since the previous drain.
func (g *Guard) drain() counts {
	var c counts
	g.spillMu.Lock()
	for i := range g.stripes {
		c.add(unpack(g.stripes[i].n.Swap(0)))
	}
	c.add(g.spilled)
	g.spilled = counts{}
	g.spillMu.Unlock()
	return c
}
