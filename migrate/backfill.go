package migrate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionmigrate/sessionmigrate/internal/pace"
	"github.com/sessionmigrate/sessionmigrate/router"
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
	// Concurrency is how many batches are in flight at once (default 4), so
	// the distributed store works while the next batch is read.
	Concurrency int
}

// BackfillProgress reports what a backfill has done so far.
type BackfillProgress struct {
	// Scanned counts live local sessions visited.
	Scanned int64 `json:"scanned"`
	// Copied counts sessions written to the distributed store: missing or
	// older there, or at the same version (rewriting an equal version is an
	// idempotent retry, so it is not told apart).
	Copied int64 `json:"copied"`
	// Skipped counts sessions the distributed store already had at a newer
	// version (or a tombstone).
	Skipped int64 `json:"skipped"`
	// Failed counts sessions whose copy failed; they are tracked as
	// unsynced and repaired later.
	Failed int64 `json:"failed"`
	// Elapsed is the time since the backfill started.
	Elapsed time.Duration `json:"elapsed_ns"`
	// Done is true in the final report.
	Done bool `json:"done"`
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
	if m.closed.Load() {
		return BackfillProgress{}, ErrClosed
	}
	sc, ok := m.local.(store.Scanner)
	if !ok {
		return BackfillProgress{}, ErrNoScanner
	}
	if opts.BatchSize < 0 || opts.Rate < 0 || opts.ProgressEvery < 0 || opts.Concurrency < 0 {
		return BackfillProgress{}, errors.New("migrate: backfill: BatchSize, Rate, ProgressEvery and Concurrency must not be negative")
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = 512
	}
	if opts.ProgressEvery == 0 {
		opts.ProgressEvery = 10000
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 4
	}
	b := &backfill{m: m, opts: opts, start: time.Now(), limit: pace.New(opts.Rate), setMany: m.setManyFunc()}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	batches := make(chan []store.Entry, opts.Concurrency)
	var wg sync.WaitGroup
	for range opts.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range batches {
				b.write(ctx, batch)
			}
		}()
	}
	batch := make([]store.Entry, 0, opts.BatchSize)
	send := func() error {
		if len(batch) == 0 {
			return nil
		}
		select {
		case batches <- batch:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		batch = make([]store.Entry, 0, opts.BatchSize)
		return b.limit.Wait(ctx, b.scanned.Load())
	}
	err := sc.Scan(ctx, func(id string, rec store.Record) error {
		scanned := b.scanned.Add(1)
		// Tracked sessions are copied too: what local holds is this
		// instance's newest write, and a tracked entry may be older (a
		// delete made before a Set at the local stage, which tracks no
		// sets). The copy is a compare-and-set either way.
		batch = append(batch, store.Entry{ID: id, Record: router.Copyable(rec)})
		if len(batch) == opts.BatchSize {
			if err := send(); err != nil {
				return err
			}
		}
		if opts.Progress != nil && scanned%int64(opts.ProgressEvery) == 0 {
			opts.Progress(b.progress(false))
		}
		return nil
	})
	if err == nil {
		err = send()
	}
	close(batches)
	wg.Wait()
	if err == nil {
		err = ctx.Err()
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
	limit   pace.Limiter
	setMany func(ctx context.Context, entries []store.Entry) ([]bool, error)

	scanned, copied, skipped, failed atomic.Int64
}

func (b *backfill) progress(done bool) BackfillProgress {
	return BackfillProgress{
		Scanned: b.scanned.Load(), Copied: b.copied.Load(), Skipped: b.skipped.Load(), Failed: b.failed.Load(),
		Elapsed: time.Since(b.start), Done: done,
	}
}

func (b *backfill) count(c *atomic.Int64, label string, n int64) {
	c.Add(n)
	b.m.metrics.backfill.WithLabelValues(label).Add(float64(n))
}

// write sends one batch and accounts for it. A failed entry's outcome is
// unknown, so it is tracked as unsynced and the repair loop makes sure.
func (b *backfill) write(ctx context.Context, batch []store.Entry) {
	if ctx.Err() != nil {
		return
	}
	applied, err := b.setMany(ctx, batch)
	var copied, skipped, failed int64
	for i, e := range batch {
		switch {
		case i < len(applied) && applied[i]:
			copied++
			b.m.core.RecheckCopy(ctx, e.ID, e.Record)
		case err != nil:
			failed++
			b.m.core.MarkUnsynced(e.ID)
		default:
			skipped++
		}
	}
	b.count(&b.copied, "copied", copied)
	b.count(&b.skipped, "skipped", skipped)
	b.count(&b.failed, "error", failed)
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
