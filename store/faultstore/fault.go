package faultstore

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// Fault is the fault configuration of one operation kind. The zero Fault
// injects nothing: calls go straight to the inner store.
type Fault struct {
	// ErrorRate is the probability, in [0, 1], that a call fails with an
	// injected error. Draws come from the store's seeded generator.
	ErrorRate float64
	// Outage fails every call with an injected error, as if the store were
	// unreachable. It takes precedence over FailNext and ErrorRate and does
	// not consume FailNext.
	Outage bool
	// Ambiguous makes this kind's injected errors (ErrorRate, Outage and
	// FailNext) ambiguous: the call is applied to the inner store and the
	// injected error, wrapping [ErrInjectedAmbiguous], is returned instead of
	// its result. When the inner call itself fails, its error is returned.
	Ambiguous bool
	// Latency delays every call by this fixed duration before it runs.
	Latency time.Duration
	// Jitter adds a uniformly random delay in [0, Jitter) to Latency.
	Jitter time.Duration
	// Hang blocks every call until its ctx ends (the call then returns an
	// error wrapping ctx.Err()) or until a SetFault without Hang lifts the
	// hang (the call then continues under the new configuration).
	Hang bool
	// Drop acknowledges writes (Set, Delete, DeleteVersion) with a nil error
	// without applying them. It deliberately breaks the acknowledgement
	// contract of store.Store to model lost async writes. Ignored for Get and
	// Scan.
	Drop bool
}

// validate reports the first field of f that is out of range.
func (f Fault) validate() error {
	switch {
	case math.IsNaN(f.ErrorRate) || f.ErrorRate < 0 || f.ErrorRate > 1:
		return fmt.Errorf("faultstore: error rate %v outside [0, 1]", f.ErrorRate)
	case f.Latency < 0:
		return fmt.Errorf("faultstore: negative latency %v", f.Latency)
	case f.Jitter < 0:
		return fmt.Errorf("faultstore: negative jitter %v", f.Jitter)
	}
	return nil
}

// config is the immutable configuration one call reads. Replacing it is how
// faults change at runtime.
type config struct {
	Fault
	// release is non-nil exactly when Hang is set, and is closed when a later
	// configuration lifts the hang.
	release chan struct{}
}

// opState is everything kept per operation kind. All fields are safe for
// concurrent use without a lock.
type opState struct {
	cfg      atomic.Pointer[config]
	failNext atomic.Int64

	calls     atomic.Uint64
	errors    atomic.Uint64
	ambiguous atomic.Uint64
	dropped   atomic.Uint64
	delayed   atomic.Uint64
	hung      atomic.Uint64
}

// takeFailNext consumes one pending FailNext failure, reporting whether there
// was one.
func (st *opState) takeFailNext() bool {
	for {
		n := st.failNext.Load()
		if n <= 0 {
			return false
		}
		if st.failNext.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// SetFault replaces the fault configuration of ops (every Op when ops is
// empty) with f. Calls that start afterwards see f; calls already past their
// fault decisions are not affected, except that calls hanging under a
// previous configuration resume when f does not hang. It returns an error,
// and changes nothing, when f is out of range or an op is unknown.
func (s *Store) SetFault(f Fault, ops ...Op) error {
	if err := f.validate(); err != nil {
		return err
	}
	ops, err := opsOrAll(ops)
	if err != nil {
		return err
	}
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	for _, op := range ops {
		st := &s.ops[op]
		old := st.cfg.Load()
		next := &config{Fault: f}
		if f.Hang {
			next.release = old.release
			if next.release == nil {
				next.release = make(chan struct{})
			}
		}
		st.cfg.Store(next)
		if old.release != nil && next.release == nil {
			close(old.release)
		}
	}
	return nil
}

// Fault returns the fault configuration currently in effect for op, or the
// zero Fault for an unknown op.
func (s *Store) Fault(op Op) Fault {
	if !op.Valid() {
		return Fault{}
	}
	return s.ops[op].cfg.Load().Fault
}

// FailNext makes the next n calls of each of ops (every Op when ops is empty)
// fail with an injected error, ambiguous when that op's Fault says so. It
// replaces any failures still pending; n == 0 cancels them. It returns an
// error, and changes nothing, when n is negative or an op is unknown.
func (s *Store) FailNext(n int, ops ...Op) error {
	if n < 0 {
		return fmt.Errorf("faultstore: fail next %d: negative count", n)
	}
	ops, err := opsOrAll(ops)
	if err != nil {
		return err
	}
	for _, op := range ops {
		s.ops[op].failNext.Store(int64(n))
	}
	return nil
}

// Reset removes every fault and pending FailNext failure, resuming hanging
// calls. Counters are kept.
func (s *Store) Reset() {
	// The zero Fault and the full op list are always valid.
	_ = s.SetFault(Fault{})
	_ = s.FailNext(0)
}
