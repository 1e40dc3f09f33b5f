package migrate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// BackfillOptions configures Backfill. Zero values have the documented
// defaults.
type BackfillOptions struct {
	// BatchSize is how many sessions go to the distributed store per round
	// trip (default 512).
	BatchSize int
	// Rate limits copying to this many sessions per second (0: unlimited).
	Rate float64
	// Progress, when set, is called from the backfilling goroutine after
	// every ProgressEvery sessions and once at the end.
	Progress func(BackfillProgress)
	// ProgressEvery defaults to 10000 sessions.
	ProgressEvery int
}

// BackfillProgress reports what a backfill has done so far.
type BackfillProgress struct {
	// Scanned counts live local sessions visited.
	Scanned int64
	// Copied counts sessions written to the distributed store (they were
	// missing there or older).
	Copied int64
	// Skipped counts sessions the distributed store already had at the same
	// or a newer version (or a tombstone), and sessions with an unconfirmed
	// distributed write, which the repair loop owns.
	Skipped int64
	// Failed counts sessions whose copy failed; they are tracked as
	// unsynced and repaired later.
	Failed int64
	// Elapsed is the time since the backfill started.
	Elapsed time.Duration
	// Done is true in the final report.
	Done bool
}

// Rate returns sessions scanned per second.
func (p BackfillProgress) Rate() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Scanned) / p.Elapsed.Seconds()
}

// ErrNoScanner is returned by Backfill when the local store cannot list its
// sessions.
var ErrNoScanner = errors.New("migrate: local store does not implement store.Scanner")

// Backfill copies every live local session that is missing or older in the
// distributed store, keeping its absolute expiry and version. It is safe
// while traffic flows: every copy is a versioned compare-and-set, so it never
// replaces a newer write, and a deleted session's tombstone blocks it, so it
// never resurrects one. Copies that fail are tracked and repaired like any
// other failed distributed write. It returns the final progress; an error
// means it stopped early (ctx ended, or the local scan failed).
func (m *Migrator) Backfill(ctx context.Context, opts BackfillOptions) (BackfillProgress, error) {
	sc, ok := m.local.(store.Scanner)
	if !ok {
		return BackfillProgress{}, ErrNoScanner
	}
	if opts.BatchSize < 0 || opts.Rate < 0 || opts.ProgressEvery < 0 {
		return BackfillProgress{}, errors.New("migrate: backfill: BatchSize, Rate and ProgressEvery must not be negative")
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = 512
	}
	if opts.ProgressEvery == 0 {
		opts.ProgressEvery = 10000
	}
	b := &backfill{m: m, opts: opts, start: time.Now(), batch: make([]store.Entry, 0, opts.BatchSize)}
	b.setMany = m.setManyFunc()
	err := sc.Scan(ctx, func(id string, rec store.Record) error {
		b.p.Scanned++
		if m.core.IsUnsynced(id) {
			b.p.Skipped++
			m.metrics.backfill.WithLabelValues("skipped").Inc()
		} else {
			if rec.Version == 0 {
				rec.Version = 1 // see router.copyable: a copy stays a compare-and-set
			}
			b.batch = append(b.batch, store.Entry{ID: id, Record: rec})
			if len(b.batch) == opts.BatchSize {
				if err := b.flush(ctx); err != nil {
					return err
				}
			}
		}
		if opts.Progress != nil && b.p.Scanned%int64(opts.ProgressEvery) == 0 {
			opts.Progress(b.progress(false))
		}
		return nil
	})
	if err == nil {
		err = b.flush(ctx)
	}
	final := b.progress(err == nil)
	if opts.Progress != nil {
		opts.Progress(final)
	}
	if err != nil {
		return final, fmt.Errorf("migrate: backfill: %w", err)
	}
	m.opts.Logger.Info("sessionmigrate: backfill done", "scanned", final.Scanned, "copied", final.Copied,
		"skipped", final.Skipped, "failed", final.Failed, "elapsed", final.Elapsed.String())
	return final, nil
}

type backfill struct {
	m       *Migrator
	opts    BackfillOptions
	start   time.Time
	batch   []store.Entry
	p       BackfillProgress
	setMany func(ctx context.Context, entries []store.Entry) ([]bool, error)
}

func (b *backfill) progress(done bool) BackfillProgress {
	p := b.p
	p.Elapsed, p.Done = time.Since(b.start), done
	return p
}

// flush writes the pending batch, then waits as long as the rate limit asks.
func (b *backfill) flush(ctx context.Context) error {
	if len(b.batch) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	applied, err := b.setMany(ctx, b.batch)
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	met := b.m.metrics.backfill
	for i, e := range b.batch {
		switch {
		case i < len(applied) && applied[i]:
			b.p.Copied++
			met.WithLabelValues("copied").Inc()
		case err != nil:
			// Unknown outcome: let the repair loop make sure.
			b.p.Failed++
			met.WithLabelValues("error").Inc()
			b.m.core.MarkUnsynced(e.ID)
		default:
			b.p.Skipped++
			met.WithLabelValues("skipped").Inc()
		}
	}
	b.batch = b.batch[:0]
	if b.opts.Rate > 0 {
		due := b.start.Add(time.Duration(float64(b.p.Scanned) / b.opts.Rate * float64(time.Second)))
		if wait := time.Until(due); wait > 0 {
			t := time.NewTimer(wait)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
			}
		}
	}
	return nil
}

// setManyFunc returns the distributed store's batch write, or one Set per
// entry when it has none. Batches go through the instrumented store so the
// guard and metrics see them only when they are single calls.
func (m *Migrator) setManyFunc() func(ctx context.Context, entries []store.Entry) ([]bool, error) {
	if bs, ok := m.dist.(store.BatchSetter); ok {
		return bs.SetMany
	}
	return func(ctx context.Context, entries []store.Entry) ([]bool, error) {
		applied := make([]bool, len(entries))
		var errs []error
		for i, e := range entries {
			if err := m.dist.Set(ctx, e.ID, e.Record); err != nil {
				errs = append(errs, err)
				continue
			}
			// Set cannot tell a write from an ignored older copy.
			applied[i] = true
		}
		return applied, errors.Join(errs...)
	}
}
