package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/sessionmigrate/sessionmigrate/consistency"
	"github.com/sessionmigrate/sessionmigrate/migrate/control"
	"github.com/sessionmigrate/sessionmigrate/store"
)

// recheckDelay is how long a difference waits before it is read again: more
// than the Migrator's synchronous Redis timeout, so that a write under way
// during the first read has landed by the second.
const recheckDelay = 200 * time.Millisecond

// diff compares every live local session of every instance with Redis, as
// the full diff before complete does. Under load a session may be read
// between its local and its Redis write, so a difference is confirmed only
// when a second read, after recheckDelay, finds the same local version
// still different in Redis; a session written or ended meanwhile was in
// flight, not inconsistent.
func (r *runner) diff(ctx context.Context) (control.DiffResult, error) {
	res := control.DiffResult{Instances: len(r.insts)}
	type suspect struct {
		in  *instance
		id  string
		rec store.Record
	}
	var suspects []suspect
	for _, in := range r.insts {
		res.Participants = append(res.Participants, in.id)
		var entries []store.Entry
		// Collect first: no Redis call while the local store is scanning.
		err := in.local.Scan(ctx, func(id string, rec store.Record) error {
			entries = append(entries, store.Entry{ID: id, Record: rec})
			return nil
		})
		if err != nil {
			return res, fmt.Errorf("demo: diff: scanning %s: %w", in.id, err)
		}
		for _, e := range entries {
			kind, err := compare(ctx, in, e.ID, e.Record, true)
			if err != nil {
				return res, err
			}
			res.Checked++
			if kind != consistency.Match {
				suspects = append(suspects, suspect{in, e.ID, e.Record})
			}
		}
	}
	if len(suspects) > 0 {
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("demo: diff: %w", ctx.Err())
		case <-time.After(recheckDelay):
		}
	}
	for _, s := range suspects {
		lrec, lfound, err := s.in.local.Get(ctx, s.id)
		if err != nil {
			return res, fmt.Errorf("demo: diff: %w", err)
		}
		if !lfound || lrec.Version != s.rec.Version {
			continue // written or ended meanwhile
		}
		kind, err := compare(ctx, s.in, s.id, lrec, true)
		if err != nil {
			return res, err
		}
		switch kind {
		case consistency.Match:
		case consistency.Missing:
			res.Missing++
		default:
			res.Mismatched++
		}
	}
	res.Clean = res.Missing == 0 && res.Mismatched == 0
	return res, nil
}

// compare reads id from in's Redis store (around the fault injector) and
// classifies it against the local record.
func compare(ctx context.Context, in *instance, id string, local store.Record, lfound bool) (consistency.Kind, error) {
	drec, dfound, err := in.dist.Get(ctx, id)
	if err != nil {
		return "", fmt.Errorf("demo: diff: reading Redis: %w", err)
	}
	return consistency.Compare(nil, local, lfound, drec, dfound), nil
}
