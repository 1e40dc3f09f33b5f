package guard

import (
	"os"
	"sync/atomic"
	"time"
)

// A measured latency is the store's time plus the process's own: when the
// reply arrives while this process waits for a CPU (the host is busy, a GC
// pause, a long run queue), the operation ends late although the store
// answered in time. The probe measures that delay from inside the process
// at the same moment, along the path a reply takes: every ProbeInterval a
// timer wakes it, and it sends one byte through a pipe to its own reader,
// which the netpoller wakes as it wakes a goroutine waiting for the store.
// The time from the timer's due moment to the byte's arrival, beyond the
// pipe's own few microseconds, is time the process was stalled, and so was
// any operation whose reply arrived meanwhile. Both legs matter: when the
// whole process is descheduled the timer is late, and when every P is busy
// a goroutine woken by the netpoller waits in the global run queue while a
// timer's goroutine runs next. Record takes the stalls overlapping an
// operation off its latency before it calls the operation slow or a
// timeout the store's; see explained and "Process delay" in the package
// doc.

// minStall is the shortest probe overshoot remembered as a stall: below
// it, a late wake-up is timer slack, not a stall worth excusing anything
// for.
const minStall = time.Millisecond

// stallRing is how many recent stalls are remembered. An operation
// overlapping older ones is judged on the newer ones only, which errs
// towards calling it slow. 256 stalls of at least minStall span at least
// 1.3 s at the default ProbeInterval, much longer than an operation under
// a per-operation timeout.
const stallRing = 256

// stalls is what the probe saw: the recent stalls, in the order they ended,
// and whether the probe is overdue right now. One goroutine writes (the
// probe, or a test); Record reads without locking.
type stalls struct {
	base time.Time    // the origin of every time below
	now  func() int64 // nanoseconds since base; tests replace it

	// due is when the sleeping probe should wake, 0 while it is not
	// sleeping: a probe overdue at Record time is a stall still under way
	// (the operation and the probe both waited, and the operation ran
	// first).
	due   atomic.Int64
	next  atomic.Uint64            // stalls written so far
	ring  [stallRing]atomic.Uint64 // packed stalls, see packStall
	last  atomic.Int64             // when the newest stall ended; 0: none yet
	worst atomic.Int64             // the longest overshoot since the last drain

	// busy is false once idleWindows Ticks in a row saw no operation.
	// Then the probe wakes once per Settings.Interval only: an idle
	// process need not pay for 200 wake-ups a second (measured: about 2%
	// of a core, most of it the runtime's own monitor kept awake), and
	// nothing is excused in it anyway.
	busy atomic.Bool
}

func (d *stalls) init() {
	d.base = time.Now()
	d.now = func() int64 { return int64(time.Since(d.base)) }
	d.busy.Store(true)
}

// Stalls are packed into one word so a reader never sees half of one: the
// end in milliseconds since base (40 bits: 34 years) and the length in
// microseconds (24 bits, capped at 16.7 s).
const (
	stallLenBits = 24
	stallLenMax  = 1<<stallLenBits - 1
)

func packStall(end, length int64) uint64 {
	us := min(length/int64(time.Microsecond), stallLenMax)
	return uint64(end/int64(time.Millisecond))<<stallLenBits | uint64(us)
}

func unpackStall(v uint64) (end, length int64) {
	return int64(v>>stallLenBits) * int64(time.Millisecond), int64(v&stallLenMax) * int64(time.Microsecond)
}

// observe records that the process was stalled for over nanoseconds up to
// end (nanoseconds since base). Single writer.
func (d *stalls) observe(end, over int64) {
	for {
		w := d.worst.Load()
		if over <= w || d.worst.CompareAndSwap(w, over) {
			break
		}
	}
	if over < int64(minStall) {
		return
	}
	n := d.next.Load()
	d.ring[n%stallRing].Store(packStall(end, over))
	d.next.Store(n + 1)
	d.last.Store(max(end, 1))
}

// own returns how long the process itself kept the operation that took
// latency nanoseconds and ended at now waiting: the stalls overlapping it,
// counting the probe's overdue time if it is overdue. It returns both the
// total of those overlaps and the longest one; explained says which
// counts.
func (d *stalls) own(now, latency int64) (total, longest int64) {
	start := now - latency
	add := func(overlap int64) {
		if overlap > 0 {
			total += overlap
			longest = max(longest, overlap)
		}
	}
	// The ring before due: the probe clears due before it writes the stall
	// it just saw, so the reader sees that stall once or, in a window of a
	// few nanoseconds, not at all; never twice.
	if d.last.Load() > start {
		n := d.next.Load()
		for i := n; i > 0 && n-i < stallRing; i-- {
			end, length := unpackStall(d.ring[(i-1)%stallRing].Load())
			if end <= start {
				break // stalls are in the order they ended
			}
			add(min(end, now) - max(end-length, start))
		}
	}
	if due := d.due.Load(); due > 0 && due < now {
		add(now - max(due, start))
	}
	return min(total, latency), min(longest, latency)
}

// drainWorst returns the longest overshoot since the previous call.
func (d *stalls) drainWorst() time.Duration { return time.Duration(d.worst.Swap(0)) }

// explained reports whether the process's own delay explains why an
// operation with outcome o and this latency, ending now, was slower than
// SlowThreshold: net of the process's stalls during it, it would not have
// been.
//
// An answer is judged net of every stall overlapping it. One wait for the
// CPU can span several of the probe's cycles (the probe sleeps between
// them), an operation can wait more than once (to send, to read), and a
// process stalled for most of an operation cannot tell its own delay from
// the store's: the answer is then not evidence against the store. A
// Timeout is judged net of the longest stall only: the answer may have
// come during that stall and waited, but stalls while it was still due
// excuse nothing, so a store that stops answering still trips the guard
// of a process that is starved much of the time.
func (g *Guard) explained(o Outcome, latency time.Duration) bool {
	d := &g.delays
	if d.last.Load() == 0 && d.due.Load() == 0 {
		return false // nothing observed: no probe running
	}
	total, longest := d.own(d.now(), int64(latency))
	own := total
	if o == Timeout {
		own = longest
	}
	return latency-time.Duration(own) <= g.slow
}

// probe measures the process's own delay every period (every idle period
// while the guard has seen no traffic for a while) until Close: the stall is the time from
// the timer's due moment until the byte it sends through the pipe is read.
// Without a pipe (out of file descriptors) it measures the timer leg
// alone.
func (g *Guard) probe(period, idle time.Duration) {
	defer g.life.wg.Done()
	d := &g.delays
	got := make(chan int64, 1) // when the reader got the byte
	r, w, err := os.Pipe()
	piped := err == nil
	if piped {
		g.life.wg.Add(1)
		go g.readProbe(r, got)
		defer w.Close() // the reader then sees EOF and returns
	}
	one := []byte{1}
	t := time.NewTimer(period)
	defer t.Stop()
	for {
		every := period
		if !d.busy.Load() {
			every = max(period, idle)
		}
		due := d.now() + int64(every)
		d.due.Store(due)
		t.Reset(every)
		select {
		case <-g.life.stop:
			d.due.Store(0)
			return
		case <-t.C:
		}
		end := d.now()
		if piped {
			if _, err := w.Write(one); err != nil {
				piped = false
			} else {
				select {
				case <-g.life.stop:
					d.due.Store(0)
					return
				case end = <-got:
				}
			}
		}
		d.due.Store(0)
		d.observe(end, end-due)
	}
}

// readProbe is the probe's far end: it reads each byte as the netpoller
// wakes it and reports when. It returns when the write end is closed.
func (g *Guard) readProbe(r *os.File, got chan<- int64) {
	defer g.life.wg.Done()
	defer r.Close()
	var b [1]byte
	for {
		if _, err := r.Read(b[:]); err != nil {
			return
		}
		got <- g.delays.now()
	}
}
