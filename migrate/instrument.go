package migrate

import (
	"context"
	"errors"
	"time"

	"github.com/sessionmigrate/sessionmigrate/migrate/guard"
	"github.com/sessionmigrate/sessionmigrate/store"
)

// instrumented wraps the distributed store: every call is timed, counted in
// the metrics and fed to the guard. The local store is not wrapped: it is
// in-process, and instrumenting it would cost more than it does.
type instrumented struct {
	inner store.Versioned
	guard *guard.Guard // nil when the guard is disabled
	m     *metrics
}

var _ store.Versioned = (*instrumented)(nil)

func (s *instrumented) done(ctx context.Context, op opIndex, start time.Time, err error, found bool) {
	d := time.Since(start)
	outcome := guard.Classify(ctx, err)
	if outcome == guard.Canceled && errors.Is(context.Cause(ctx), store.ErrTimeout) {
		// Our own per-operation deadline fired: the store did not answer
		// in time. That is the guard's business, not a caller giving up.
		outcome = guard.Unavailable
	}
	if s.guard != nil {
		s.guard.Record(outcome, d)
	}
	res := resOK
	switch outcome {
	case guard.Canceled:
		res = resCanceled
	case guard.Failure, guard.Unavailable:
		res = resError
	default:
		if !found {
			res = resMiss
		}
	}
	s.m.observe(op, res, d)
}

func (s *instrumented) Get(ctx context.Context, id string) (store.Record, bool, error) {
	start := time.Now()
	rec, found, err := s.inner.Get(ctx, id)
	s.done(ctx, opGet, start, err, found)
	return rec, found, err
}

func (s *instrumented) Set(ctx context.Context, id string, rec store.Record) error {
	start := time.Now()
	err := s.inner.Set(ctx, id, rec)
	s.done(ctx, opSet, start, err, true)
	return err
}

func (s *instrumented) Delete(ctx context.Context, id string) error {
	start := time.Now()
	err := s.inner.Delete(ctx, id)
	s.done(ctx, opDelete, start, err, true)
	return err
}

func (s *instrumented) DeleteVersion(ctx context.Context, id string, version uint64, until time.Time) error {
	start := time.Now()
	err := s.inner.DeleteVersion(ctx, id, version, until)
	s.done(ctx, opDelete, start, err, true)
	return err
}
