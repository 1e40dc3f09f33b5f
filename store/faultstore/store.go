package faultstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

var (
	_ store.Store     = (*Store)(nil)
	_ store.Versioned = (*Store)(nil)
	_ store.Scanner   = (*Store)(nil)
)

// Store is a [store.Store] that forwards to an inner store and injects the
// faults configured per [Op]. It always has the methods of [store.Versioned]
// and [store.Scanner]; DeleteVersion and Scan return an error wrapping
// [errors.ErrUnsupported] when the inner store lacks that capability.
//
// A Store is safe for concurrent use. It starts no goroutines and needs no
// Close; closing the inner store is the caller's job.
type Store struct {
	inner  store.Store
	sleep  func(ctx context.Context, d time.Duration) error
	onCall func(ctx context.Context, op Op, id string)

	rngMu sync.Mutex // guards rng, which is not safe for concurrent use
	rng   *rand.Rand

	cfgMu sync.Mutex // serialises writers of ops[*].cfg
	ops   [numOps]opState
}

// Option configures a Store at construction.
type Option func(*Store)

// WithSeed seeds the generator behind ErrorRate and Jitter draws. The default
// seed is 0, so runs are reproducible unless a test asks otherwise.
func WithSeed(seed uint64) Option {
	return func(s *Store) { s.rng = newRand(seed) }
}

// WithSleep replaces the function that waits out injected latency. sleep must
// return nil after d, or ctx.Err() (or another error) if it gives up early;
// a Store returns that error wrapped. Tests pass a fake that records d and
// returns at once. A nil sleep keeps the default, a timer that honours ctx.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(s *Store) {
		if sleep != nil {
			s.sleep = sleep
		}
	}
}

// WithOnCall installs a hook run synchronously at the start of every call,
// before any fault, with the call's ctx, kind and session id (empty for
// Scan). It may block, for example until a test releases it, and should then
// also watch ctx. It must not call back into the Store on the same goroutine
// in a way that waits for itself. Session ids are credentials: hooks must
// not log them outside tests.
func WithOnCall(hook func(ctx context.Context, op Op, id string)) Option {
	return func(s *Store) { s.onCall = hook }
}

// New returns a Store wrapping inner with no faults configured. It panics if
// inner is nil, a programming error.
func New(inner store.Store, opts ...Option) *Store {
	if inner == nil {
		panic("faultstore: New: nil inner store")
	}
	s := &Store{inner: inner, sleep: sleepCtx, rng: newRand(0)}
	for _, opt := range opts {
		opt(s)
	}
	for i := range s.ops {
		s.ops[i].cfg.Store(&config{})
	}
	return s
}

// Inner returns the wrapped store, for assertions that must bypass faults.
func (s *Store) Inner() store.Store { return s.inner }

// Get forwards to the inner store's Get under the faults configured for
// [OpGet]. An ambiguous fault reads the inner store and then returns a miss
// with the injected error.
func (s *Store) Get(ctx context.Context, id string) (store.Record, bool, error) {
	var (
		rec   store.Record
		found bool
	)
	err := s.do(ctx, OpGet, id, func() error {
		var err error
		rec, found, err = s.inner.Get(ctx, id)
		return err
	})
	if err != nil {
		return store.Record{}, false, err
	}
	return rec, found, nil
}

// Set forwards to the inner store's Set under the faults configured for
// [OpSet].
func (s *Store) Set(ctx context.Context, id string, rec store.Record) error {
	return s.do(ctx, OpSet, id, func() error { return s.inner.Set(ctx, id, rec) })
}

// Delete forwards to the inner store's Delete under the faults configured for
// [OpDelete].
func (s *Store) Delete(ctx context.Context, id string) error {
	return s.do(ctx, OpDelete, id, func() error { return s.inner.Delete(ctx, id) })
}

// DeleteVersion forwards to the inner store's DeleteVersion under the faults
// configured for [OpDeleteVersion]. If the inner store is not a
// [store.Versioned], it returns an error wrapping [errors.ErrUnsupported]
// without counting a call or injecting a fault.
func (s *Store) DeleteVersion(ctx context.Context, id string, version uint64, until time.Time) error {
	v, ok := s.inner.(store.Versioned)
	if !ok {
		return fmt.Errorf("faultstore: %s: inner %T is not a store.Versioned: %w", OpDeleteVersion, s.inner, errors.ErrUnsupported)
	}
	return s.do(ctx, OpDeleteVersion, id, func() error { return v.DeleteVersion(ctx, id, version, until) })
}

// Scan forwards to the inner store's Scan under the faults configured for
// [OpScan]. An ambiguous fault runs the whole scan, calling fn, and then
// returns the injected error, like a scan that fails on its last page. If the
// inner store is not a [store.Scanner], Scan returns an error wrapping
// [errors.ErrUnsupported] without counting a call or injecting a fault.
func (s *Store) Scan(ctx context.Context, fn func(id string, rec store.Record) error) error {
	sc, ok := s.inner.(store.Scanner)
	if !ok {
		return fmt.Errorf("faultstore: %s: inner %T is not a store.Scanner: %w", OpScan, s.inner, errors.ErrUnsupported)
	}
	return s.do(ctx, OpScan, "", func() error { return sc.Scan(ctx, fn) })
}

// do runs one call of kind op: the faults, then call unless a fault prevents
// it. Errors from call are returned unchanged.
func (s *Store) do(ctx context.Context, op Op, id string, call func() error) error {
	v, err := s.admit(ctx, op, id)
	if err != nil {
		return err
	}
	switch v {
	case fail:
		return s.injected(op, false)
	case drop:
		s.ops[op].dropped.Add(1)
		return nil
	}
	if err := call(); err != nil {
		return err
	}
	if v == applyThenFail {
		return s.injected(op, true)
	}
	return nil
}

// injected counts and returns one injected error of kind op.
func (s *Store) injected(op Op, ambiguous bool) error {
	st := &s.ops[op]
	st.errors.Add(1)
	if ambiguous {
		st.ambiguous.Add(1)
		return fmt.Errorf("faultstore: %s: %w", op, ErrInjectedAmbiguous)
	}
	return fmt.Errorf("faultstore: %s: %w", op, ErrInjected)
}
