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
	// Timeout is an Unavailable operation that ended because its own
	// deadline passed: the store did not answer in time. It counts as
	// Unavailable, unless the process's own delay explains it (see
	// "Process delay" in the package doc): then it is not counted at all,
	// as if Canceled, since the answer may have been waiting while the
	// process was stalled.
	Timeout
)

// String returns the outcome's name in lower case ("success", "failure",
// "unavailable", "canceled", "timeout"), usable as a metric label value.
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
	case Timeout:
		return "timeout"
	default:
		return "invalid"
	}
}

// Record feeds one distributed-store operation to the guard as it ends.
// latency is the operation's duration as the caller measured it; it is
// compared with Settings.SlowThreshold for every outcome but Canceled. An
// operation over the threshold is first set against the process's own
// delay during the latency just ended (see "Process delay" in the package
// doc), so call Record when the operation ends, not later.
//
// Record is the hot path: it takes no lock, does not allocate and costs one
// atomic add for a successful operation under the threshold. When the
// operation is the Settings.ConsecutiveFailures-th failure in a row, Record
// trips the guard before it returns and runs OnStateChange and OnTrip on
// the calling goroutine. An Outcome other than the five constants counts as
// Failure.
//
// Under concurrency "consecutive" means consecutive in the order the guard
// observes them: any success resets the run. Record is safe for concurrent
// use, also while the guard is tripped (the scores keep moving, so operators
// can see the store recover before they resume).
func (g *Guard) Record(o Outcome, latency time.Duration) {
	if o == Canceled {
		return
	}
	// The stripe is picked from the measured latency, whose low bits vary
	// at nanosecond resolution between concurrent callers: a free source
	// of spreading. Equal latencies merely share a stripe.
	s := &g.stripes[(uint64(latency)*0x9e3779b97f4a7c15)>>g.stripeShift]
	d := uint64(1) << opsShift
	if latency > g.slow {
		// The rare path: was the process itself the slow part?
		if g.explained(o, latency) {
			s.delayed.Add(1)
			if o == Timeout {
				return // inconclusive: neither counts nor resets the run
			}
		} else {
			d |= 1 << slowShift
		}
	}
	switch o {
	case Success:
		// A plain load keeps the cache line shared between cores while
		// everything succeeds; only the first success after a failure
		// writes.
		if g.consec.n.Load() != 0 {
			g.consec.n.Store(0)
		}
	case Unavailable, Timeout:
		d |= 1<<failShift | 1<<downShift
		g.failed()
	default:
		d |= 1 << failShift
		g.failed()
	}
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
// prefetch makes 64 bytes too few on common x86 parts), with the count of
// operations the process's own delay explained beside it (the rare path:
// only operations over the threshold touch it).
type stripe struct {
	n       atomic.Uint64
	delayed atomic.Uint64
	_       [112]byte
}

// counts is a window's tally: the four packed counts, the operations the
// process's own delay explained, and the longest stall the probe saw.
type counts struct {
	ops, fail, down, slow uint64
	delayed               uint64
	delay                 time.Duration
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
	c.delayed += o.delayed
	c.delay = max(c.delay, o.delay)
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

// drain takes every count recorded since the previous drain, and the
// longest stall the probe saw meanwhile.
func (g *Guard) drain() counts {
	var c counts
	g.spillMu.Lock()
	for i := range g.stripes {
		s := &g.stripes[i]
		c.add(unpack(s.n.Swap(0)))
		c.delayed += s.delayed.Swap(0)
	}
	c.add(g.spilled)
	g.spilled = counts{}
	g.spillMu.Unlock()
	c.delay = g.delays.drainWorst()
	return c
}
