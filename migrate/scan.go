package migrate

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/sessionmigrate/sessionmigrate/store"
)

var _ store.Scanner = (*Migrator)(nil)

// ErrScanUnsupported is wrapped by Scan's error when a store the stage
// reads from does not implement store.Scanner, so the Migrator cannot list
// the sessions it serves.
var ErrScanUnsupported = errors.New("migrate: store does not implement store.Scanner")

// scanSource is one place Scan takes candidate ids from.
type scanSource int

const (
	// fromLocal is every live session of the local store.
	fromLocal scanSource = iota
	// fromUnsynced is the local sessions this instance tracks as unsynced:
	// the only local ones complete still serves (invariant 10).
	fromUnsynced
	// fromDist is every live session of the distributed store.
	fromDist
	// fromDistIfUp is fromDist at the local stage, which answers local
	// misses from the distributed store but treats its failure as a miss:
	// a store that fails (or cannot list) is skipped.
	fromDistIfUp
)

func (s scanSource) String() string {
	return [...]string{"local", "local unsynced", "distributed", "distributed"}[s]
}

// Scan calls fn once for every session a Get through the Migrator would
// find now, as [store.Scanner] specifies: live sessions only, each id at
// most once, never concurrently, rec.Data owned by fn. Routing decides what
// is live. Scan enumerates candidate ids from the stores the stage reads —
// local at local, and distributed when it answers (the local stage answers
// a local miss from it, and treats its failure as a miss); local and
// distributed, deduplicated, at shadow, dual and
// ramp (and after a guard trip); distributed at complete, plus the local
// sessions this instance still tracks as unsynced — and resolves each
// candidate with the Migrator's own Get, so the stage's read rules (unsynced
// sessions served from local, stale copies, tombstones, lazy copies) decide
// whether it is visited and with which record. Should the stage change
// during the scan to one that reads a store not yet enumerated, that store
// is enumerated too.
//
// Cost: one Scan of each store the stage reads, plus one Get per candidate
// (in ramp and complete, a Redis round trip per session), so listing is
// proportional to every session held, not to those returned. At complete
// the local store is enumerated only while this instance tracks unsynced
// sessions, to find them. Scan remembers
// a 16-byte digest of every candidate it resolved, about 40 bytes of memory
// per session for the duration of the scan. A Get resolving a candidate is
// a read like any other: at ramp it may lazily copy a session to the
// distributed store.
//
// Errors: if a store the stage reads does not implement store.Scanner, Scan
// returns an error wrapping [ErrScanUnsupported] before calling fn. If fn
// returns store.ErrStopScan, Scan stops and returns nil; another error from
// fn is returned as is. A store's scan error or a Get error stops the scan
// and is returned wrapped; when ctx ends Scan stops with an error wrapping
// ctx.Err().
func (m *Migrator) Scan(ctx context.Context, fn func(id string, rec store.Record) error) error {
	if m.closed.Load() {
		return ErrClosed
	}
	sc := &migratorScan{m: m, fn: fn, seen: make(map[[16]byte]struct{}), done: make(map[scanSource]bool)}
	for {
		src, ok := sc.next()
		if !ok {
			return nil
		}
		stop, err := sc.source(ctx, src)
		if err != nil || stop {
			return err
		}
		sc.done[src] = true
	}
}

// scanSources returns the sources the routing in effect reads.
func (m *Migrator) scanSources() []scanSource {
	switch m.State().Stage {
	case Local:
		return []scanSource{fromLocal, fromDistIfUp}
	case Complete:
		if m.core.Unsynced() > 0 {
			return []scanSource{fromDist, fromUnsynced}
		}
		return []scanSource{fromDist}
	default:
		return []scanSource{fromLocal, fromDist}
	}
}

// migratorScan is the state of one Scan call.
type migratorScan struct {
	m    *Migrator
	fn   func(id string, rec store.Record) error
	seen map[[16]byte]struct{}
	done map[scanSource]bool
}

// next returns a source the routing in effect reads that has not been
// enumerated yet. A full local scan covers the unsynced local sessions.
func (sc *migratorScan) next() (scanSource, bool) {
	for _, src := range sc.m.scanSources() {
		if sc.done[src] || (src == fromUnsynced && sc.done[fromLocal]) || (src == fromDistIfUp && sc.done[fromDist]) {
			continue
		}
		return src, true
	}
	return 0, false
}

// source enumerates one source and resolves its candidates. stop reports
// that fn asked to stop.
func (sc *migratorScan) source(ctx context.Context, src scanSource) (stop bool, err error) {
	var s store.Store = sc.m.local
	if src == fromDist || src == fromDistIfUp {
		s = sc.m.dist
	}
	scanner, ok := s.(store.Scanner)
	if !ok && src == fromDistIfUp {
		return false, nil
	}
	if !ok {
		return false, fmt.Errorf("%w: %s store %T", ErrScanUnsupported, src, s)
	}
	// cbErr is an error of the callback itself (fn's, a Get's, ctx's),
	// returned as it is; the store's own errors are wrapped below.
	var cbErr error
	stopped := false
	err = scanner.Scan(ctx, func(id string, _ store.Record) error {
		if src == fromUnsynced && !sc.m.core.IsUnsynced(id) {
			return nil
		}
		digest := sha256.Sum256([]byte(id))
		key := [16]byte(digest[:16])
		if _, dup := sc.seen[key]; dup {
			return nil
		}
		sc.seen[key] = struct{}{}
		rec, found, err := sc.m.Get(ctx, id)
		switch {
		case err != nil:
			cbErr = fmt.Errorf("migrate: scan: %w", err)
		case !found:
			return nil
		case ctx.Err() != nil:
			cbErr = fmt.Errorf("migrate: scan: %w", ctx.Err())
		default:
			err := sc.fn(id, rec)
			if err == nil {
				return nil
			}
			if errors.Is(err, store.ErrStopScan) {
				stopped = true
			} else {
				cbErr = err
			}
		}
		return store.ErrStopScan
	})
	switch {
	case cbErr != nil:
		return false, cbErr
	case stopped:
		return true, nil
	case err != nil && src == fromDistIfUp && ctx.Err() == nil:
		return false, nil
	case err != nil:
		return false, fmt.Errorf("migrate: scan %s store: %w", src, err)
	}
	return false, nil
}
