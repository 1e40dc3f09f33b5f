package migrate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sessionmigrate/sessionmigrate/migrate/guard"
	"github.com/sessionmigrate/sessionmigrate/router"
	"github.com/sessionmigrate/sessionmigrate/store"
)

// instrumented wraps the distributed store: every call is timed, counted in
// the metrics and fed to the guard. The local store is not wrapped: it is
// in-process, and instrumenting it would cost more than it does.
type instrumented struct {
	inner   store.Versioned
	latest  store.LatestWriter // inner
	setMany func(ctx context.Context, entries []store.Entry) ([]bool, error)
	guard   *guard.Guard // nil when the guard is disabled
	m       *metrics
}

// newInstrumented wraps inner, which must implement store.LatestWriter.
func newInstrumented(inner store.Versioned, g *guard.Guard, m *metrics) (*instrumented, error) {
	lw, ok := inner.(store.LatestWriter)
	if !ok {
		return nil, fmt.Errorf("migrate: distributed store %T does not implement store.LatestWriter", inner)
	}
	return &instrumented{inner: inner, latest: lw, setMany: router.SetManyFunc(inner), guard: g, m: m}, nil
}

var _ store.Versioned = (*instrumented)(nil)

func (s *instrumented) done(ctx context.Context, op opIndex, start time.Time, err error, found bool) {
	d := time.Since(start)
	outcome := guard.Classify(ctx, err)
	if outcome == guard.Canceled && errors.Is(context.Cause(ctx), store.ErrTimeout) {
		// Our own per-operation deadline fired: the store did not answer
		// in time (or this process was too stalled to read the answer,
		// which the guard tells apart). That is the guard's business, not
		// a caller giving up.
		outcome = guard.Timeout
	}
	contended := errors.Is(err, store.ErrContended)
	if contended {
		// Writers racing on one session: the store answered every
		// attempt, so it is no sign of an unhealthy store.
		outcome = guard.Success
	}
	if s.guard != nil {
		s.guard.Record(outcome, d)
	}
	res := resOK
	switch outcome {
	case guard.Canceled:
		res = resCanceled
	case guard.Failure, guard.Unavailable, guard.Timeout:
		res = resError
	default:
		if contended {
			res = resError
		} else if !found {
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

var _ store.TombstoneReader = (*instrumented)(nil)

// Tombstone times and counts a tombstone read as a get that answered
// (result "ok", found or not: a tombstone is not a session). A distributed
// store that does not report tombstones has none to report.
func (s *instrumented) Tombstone(ctx context.Context, id string) (uint64, bool, error) {
	tr, ok := s.inner.(store.TombstoneReader)
	if !ok {
		return 0, false, nil
	}
	start := time.Now()
	v, found, err := tr.Tombstone(ctx, id)
	s.done(ctx, opGet, start, err, true)
	return v, found, err
}

var (
	_ store.LatestWriter = (*instrumented)(nil)
	_ store.BatchSetter  = (*instrumented)(nil)
)

// SetLatest times and counts a request-path write (op "set").
func (s *instrumented) SetLatest(ctx context.Context, id string, rec store.Record) (uint64, error) {
	start := time.Now()
	v, err := s.latest.SetLatest(ctx, id, rec)
	s.done(ctx, opSet, start, err, true)
	return v, err
}

// DeleteLatest times and counts a request-path delete (op "delete").
func (s *instrumented) DeleteLatest(ctx context.Context, id string, version uint64, until, fallback time.Time) (uint64, error) {
	start := time.Now()
	v, err := s.latest.DeleteLatest(ctx, id, version, until, fallback)
	s.done(ctx, opDelete, start, err, true)
	return v, err
}

// SetMany forwards a batch of copies (repairs, reconciliation) as one
// pipelined call when the store can. The batch counts as one set in the
// metrics and the guard sees its outcome but not its latency: a pipeline
// of thousands of writes takes longer than one write, and that says
// nothing about the store's health.
func (s *instrumented) SetMany(ctx context.Context, entries []store.Entry) ([]bool, error) {
	start := time.Now()
	applied, err := s.setMany(ctx, entries)
	outcome := guard.Classify(ctx, err)
	if s.guard != nil && outcome != guard.Canceled {
		s.guard.Record(outcome, 0)
	}
	res := resOK
	if err != nil {
		res = resError
	}
	s.m.observe(opSet, res, time.Since(start)/time.Duration(max(len(entries), 1)))
	return applied, err
}
