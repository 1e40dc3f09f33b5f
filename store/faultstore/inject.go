package faultstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// verdict is what the fault decisions made of one call.
type verdict uint8

const (
	proceed       verdict = iota // call the inner store and return its result
	fail                         // return an injected error without calling
	applyThenFail                // call the inner store, then return an injected error
	drop                         // acknowledge a write without calling
)

// admit counts one call of kind op, runs the hook, hang and latency, and
// decides the call's fate. A non-nil error (ctx ended while hanging or
// sleeping) is the call's result. No lock is held while it waits.
func (s *Store) admit(ctx context.Context, op Op, id string) (verdict, error) {
	st := &s.ops[op]
	st.calls.Add(1)
	if s.onCall != nil {
		s.onCall(ctx, op, id)
	}

	cfg := st.cfg.Load()
	if cfg.Hang {
		st.hung.Add(1)
		// A hang lifted and set again before this call woke keeps it hung.
		for cfg.Hang {
			select {
			case <-ctx.Done():
				return proceed, fmt.Errorf("faultstore: %s: hung: %w", op, ctx.Err())
			case <-cfg.release:
			}
			cfg = st.cfg.Load()
		}
	}

	delay := cfg.Latency
	if cfg.Jitter > 0 {
		delay += s.jitter(cfg.Jitter)
	}
	if delay > 0 {
		st.delayed.Add(1)
		if err := s.sleep(ctx, delay); err != nil {
			return proceed, fmt.Errorf("faultstore: %s: injected latency: %w", op, err)
		}
	}

	if cfg.Outage || st.takeFailNext() || s.chance(cfg.ErrorRate) {
		if cfg.Ambiguous {
			return applyThenFail, nil
		}
		return fail, nil
	}
	if cfg.Drop && op.isWrite() {
		return drop, nil
	}
	return proceed, nil
}

// chance reports true with probability p, drawing only when 0 < p < 1.
func (s *Store) chance(p float64) bool {
	switch {
	case p <= 0:
		return false
	case p >= 1:
		return true
	}
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return s.rng.Float64() < p
}

// jitter returns a uniform random duration in [0, upTo); upTo must be positive.
func (s *Store) jitter(upTo time.Duration) time.Duration {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return time.Duration(s.rng.Int64N(int64(upTo)))
}

// newRand returns the generator used for every draw of a Store.
func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x5e55_10a5_fa17_5eed))
}

// sleepCtx waits for d or until ctx ends, whichever comes first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
