package memstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// Scan calls fn for every live session; see [store.Scanner]. It takes a
// snapshot of one shard's live ids at a time under the shard's read lock,
// then looks each id up again just before calling fn, so a session deleted
// or expired during the scan is not visited and fn sees the record as it is
// when visited. No lock is held while fn runs, so fn may use the store. Each
// rec.Data is a copy owned by fn.
//
// If fn returns [store.ErrStopScan], Scan returns nil; another error from fn
// is returned as is. When ctx is done Scan calls fn no more and returns an
// error wrapping ctx.Err(); after Close it returns an error wrapping
// [store.ErrClosed].
func (s *Store) Scan(ctx context.Context, fn func(id string, rec store.Record) error) error {
	var ids []string
	for i := range s.shards {
		if err := s.check(ctx); err != nil {
			return fmt.Errorf("memstore: scan: %w", err)
		}
		sh := &s.shards[i]
		nowMs := s.now().UnixMilli()
		ids = ids[:0]
		sh.mu.RLock()
		for id, e := range sh.m {
			if !e.tombstone && !e.expired(nowMs) {
				ids = append(ids, id)
			}
		}
		sh.mu.RUnlock()

		for _, id := range ids {
			e, ok := sh.live(id, s.now().UnixMilli())
			if !ok {
				continue
			}
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("memstore: scan: %w", err)
			}
			if err := fn(id, e.record()); err != nil {
				if errors.Is(err, store.ErrStopScan) {
					return nil
				}
				return err
			}
		}
	}
	return nil
}

// ScanTombstones calls fn for every unexpired tombstone; see
// [store.TombstoneScanner]. Like Scan it takes one shard's ids at a time
// under its read lock and looks each up again before calling fn, with no
// lock held while fn runs.
func (s *Store) ScanTombstones(ctx context.Context, fn func(id string, version uint64) error) error {
	var ids []string
	for i := range s.shards {
		if err := s.check(ctx); err != nil {
			return fmt.Errorf("memstore: scan tombstones: %w", err)
		}
		sh := &s.shards[i]
		nowMs := s.now().UnixMilli()
		ids = ids[:0]
		sh.mu.RLock()
		for id, e := range sh.m {
			if e.tombstone && !e.expired(nowMs) {
				ids = append(ids, id)
			}
		}
		sh.mu.RUnlock()
		for _, id := range ids {
			sh.mu.RLock()
			e, ok := sh.m[id]
			sh.mu.RUnlock()
			if !ok || !e.tombstone || e.expired(s.now().UnixMilli()) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("memstore: scan tombstones: %w", err)
			}
			if err := fn(id, e.version); err != nil {
				if errors.Is(err, store.ErrStopScan) {
					return nil
				}
				return err
			}
		}
	}
	return nil
}
