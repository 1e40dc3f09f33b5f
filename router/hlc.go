package router

import (
	"sync/atomic"
	"time"
)

// logicalBits is the width of the logical counter in a version: a version
// is wall-clock microseconds shifted left by logicalBits, plus a counter
// for writes issued within one microsecond or after a jump to a version
// read from elsewhere. 10 bits leave room for microseconds until the year
// 2540.
const logicalBits = 10

// maxAhead bounds how far ahead of this instance's wall clock a version read
// from a store may be and still be adopted. A version further ahead is not a
// clock a real instance runs (it is damage, or a foreign writer): adopting it
// would drag every later version with it and could exhaust the version
// space. Writes that must win over such a version still do, by arrival
// (store.LatestWriter).
const maxAhead = 24 * time.Hour

// hlc is a hybrid logical clock packed in a uint64. Versions it issues are
// strictly increasing, at least the wall clock (so a restarted instance
// starts above what it issued before, and instances with synchronized
// clocks interleave by time), and above every version observed: a write
// made after reading a session, on any instance, orders after the write
// that was read, however skewed the two instances' clocks are. Safe for
// concurrent use; the hot path is one atomic load and one compare-and-swap.
type hlc struct {
	last atomic.Uint64
}

// versionAt is the smallest version the wall clock allows at now.
func versionAt(now time.Time) uint64 {
	us := now.UnixMicro()
	if us < 0 {
		return 0
	}
	return uint64(us) << logicalBits
}

// next issues a version for a write at now (the caller's clock reading).
func (h *hlc) next(now time.Time) uint64 {
	phys := versionAt(now)
	for {
		last := h.last.Load()
		v := max(last+1, phys)
		if h.last.CompareAndSwap(last, v) {
			return v
		}
	}
}

// observe advances the clock to v, a version read from a store, so that the
// next version issued is above it. Versions more than maxAhead ahead of now
// are ignored (see maxAhead); observe reports whether v was accepted.
func (h *hlc) observe(v uint64, now func() time.Time) bool {
	last := h.last.Load()
	if v <= last {
		return true // the common case: one load, no clock read
	}
	if v > versionAt(now().Add(maxAhead)) {
		return false
	}
	for {
		if h.last.CompareAndSwap(last, v) {
			return true
		}
		if last = h.last.Load(); v <= last {
			return true
		}
	}
}

// current returns the last version issued or observed.
func (h *hlc) current() uint64 { return h.last.Load() }
