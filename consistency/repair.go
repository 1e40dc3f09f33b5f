package consistency

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// RepairConfig configures a Repairer.
type RepairConfig struct {
	// Distributed is the store repaired; it must implement
	// store.Versioned (every repair is a compare-and-set). With
	// store.BatchSetter copies go in batches.
	Distributed store.Store
	// Kinds are the kinds repaired; other mismatches are counted as left.
	// Empty means every kind.
	Kinds []Kind
	// Copyable prepares a local record for a copy (the Migrator's rule for
	// unversioned records); nil copies records as they are.
	Copyable func(store.Record) store.Record
	// Batch is how many copies go in one batch (default DefaultDiffBatch).
	Batch int
	// Timeout bounds each write (default DefaultDiffTimeout).
	Timeout time.Duration
	// OnFailed receives the id of every repair that failed, whose outcome
	// is unknown (the Migrator tracks it as unsynced). Optional.
	OnFailed func(id string)
}

// RepairResult counts what a Repairer did.
type RepairResult struct {
	// Copied counts local records copied to the distributed store at
	// their versions (missing, stale, data, expiry).
	Copied int64 `json:"copied"`
	// Tombstoned counts extras removed with a tombstone at their own
	// version.
	Tombstoned int64 `json:"tombstoned"`
	// Skipped counts copies the compare-and-set refused: a newer write or
	// a tombstone got there first, which is what must win.
	Skipped int64 `json:"skipped"`
	// Failed counts repairs that failed; Left counts mismatches of kinds
	// not asked for.
	Failed int64 `json:"failed"`
	Left   int64 `json:"left"`
}

// Repairer repairs the distributed copies of confirmed mismatches from the
// local store, which holds every acknowledged write until complete: a
// missing, stale or different copy is replaced by the local record at its
// own version, and an Extra (a copy no local store holds) is removed with a
// tombstone at its own version (at the tombstone's, when it sits beside
// one) until its own expiry. Every write is a versioned compare-and-set, so
// a newer write, or a delete, made meanwhile always wins: a repair never
// overwrites one and never brings a session back.
//
// Add is meant as a full diff's OnMismatch: feed it, then Flush. It is safe
// for concurrent use.
type Repairer struct {
	cfg RepairConfig
	vs  store.Versioned

	mu      sync.Mutex
	pending []store.Entry
	res     RepairResult
	errs    []error
}

// NewRepairer validates cfg and returns a Repairer.
func NewRepairer(cfg RepairConfig) (*Repairer, error) {
	vs, ok := cfg.Distributed.(store.Versioned)
	if !ok {
		return nil, fmt.Errorf("consistency: repair: distributed store %T does not implement store.Versioned", cfg.Distributed)
	}
	if cfg.Batch < 0 || cfg.Timeout < 0 {
		return nil, errors.New("consistency: repair: Batch and Timeout must not be negative")
	}
	for _, k := range cfg.Kinds {
		if !k.Valid() || k == Match {
			return nil, fmt.Errorf("consistency: repair: %q is not a mismatch kind", k)
		}
	}
	if cfg.Batch == 0 {
		cfg.Batch = DefaultDiffBatch
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultDiffTimeout
	}
	return &Repairer{cfg: cfg, vs: vs}, nil
}

// wants reports whether kind k is to be repaired.
func (r *Repairer) wants(k Kind) bool {
	if len(r.cfg.Kinds) == 0 {
		return true
	}
	for _, w := range r.cfg.Kinds {
		if w == k {
			return true
		}
	}
	return false
}

// Add repairs mm: extras at once, copies in batches (Flush sends the last
// one). ctx bounds the writes it makes.
func (r *Repairer) Add(ctx context.Context, mm Mismatch) {
	if !r.wants(mm.Kind) {
		r.count(func(res *RepairResult) { res.Left++ })
		return
	}
	if mm.Kind == Extra {
		r.tombstone(ctx, mm)
		return
	}
	if !mm.LocalFound {
		return // nothing local to copy; cannot happen for these kinds
	}
	rec := mm.Local
	if r.cfg.Copyable != nil {
		rec = r.cfg.Copyable(rec)
	}
	r.mu.Lock()
	r.pending = append(r.pending, store.Entry{ID: mm.ID, Record: rec})
	var batch []store.Entry
	if len(r.pending) >= r.cfg.Batch {
		batch, r.pending = r.pending, nil
	}
	r.mu.Unlock()
	if batch != nil {
		r.copy(ctx, batch)
	}
}

// Flush sends the copies still pending and returns what the Repairer did;
// the error joins the failures (naming no id).
func (r *Repairer) Flush(ctx context.Context) (RepairResult, error) {
	r.mu.Lock()
	batch := r.pending
	r.pending = nil
	r.mu.Unlock()
	if len(batch) > 0 {
		r.copy(ctx, batch)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.res, errors.Join(r.errs...)
}

// Result returns what the Repairer did so far.
func (r *Repairer) Result() RepairResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.res
}

func (r *Repairer) count(fn func(*RepairResult)) {
	r.mu.Lock()
	fn(&r.res)
	r.mu.Unlock()
}

func (r *Repairer) fail(id string, err error) {
	r.mu.Lock()
	r.res.Failed++
	if len(r.errs) < 10 {
		r.errs = append(r.errs, err)
	}
	r.mu.Unlock()
	if r.cfg.OnFailed != nil {
		r.cfg.OnFailed(id)
	}
}

// tombstone removes an extra at its own version: a newer write wins.
func (r *Repairer) tombstone(ctx context.Context, mm Mismatch) {
	version := mm.Distributed.Version
	if mm.Tombstoned {
		// Data written over a tombstone: only a delete at the tombstone's
		// version may replace it (a lower one is refused).
		version = max(version, mm.TombstoneVersion)
	}
	ctx, cancel := store.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	if err := r.vs.DeleteVersion(ctx, mm.ID, version, mm.Distributed.ExpiresAt); err != nil {
		r.fail(mm.ID, fmt.Errorf("consistency: repair: tombstone: %w", err))
		return
	}
	r.count(func(res *RepairResult) { res.Tombstoned++ })
}

// copy writes batch at its versions.
func (r *Repairer) copy(ctx context.Context, batch []store.Entry) {
	ctx, cancel := store.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	if bs, ok := r.cfg.Distributed.(store.BatchSetter); ok {
		applied, err := bs.SetMany(ctx, batch)
		var copied, skipped int64
		for i, e := range batch {
			switch {
			case i < len(applied) && applied[i]:
				copied++
			case err != nil:
				r.fail(e.ID, fmt.Errorf("consistency: repair: copy: %w", err))
			default:
				skipped++
			}
		}
		r.count(func(res *RepairResult) { res.Copied += copied; res.Skipped += skipped })
		return
	}
	for _, e := range batch {
		if err := r.vs.Set(ctx, e.ID, e.Record); err != nil {
			r.fail(e.ID, fmt.Errorf("consistency: repair: copy: %w", err))
			continue
		}
		// Set cannot tell a write from a refused older copy.
		r.count(func(res *RepairResult) { res.Copied++ })
	}
}
