package memstore

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// Get returns the live record stored under id; see [store.Store]. The
// returned Data is a copy the caller may modify. A miss (never stored,
// deleted, expired, or only a tombstone) is found == false with a nil error.
// Get fails only when ctx is done or the store is closed.
func (s *Store) Get(ctx context.Context, id string) (store.Record, bool, error) {
	if err := s.check(ctx); err != nil {
		return store.Record{}, false, fmt.Errorf("memstore: get: %w", err)
	}
	e, ok := s.shardFor(id).live(id, s.now().UnixMilli())
	if !ok {
		return store.Record{}, false, nil
	}
	return e.record(), true, nil
}

// Tombstone reports the version of an unexpired tombstone stored under id;
// see [store.TombstoneReader]. It fails only when ctx is done or the store
// is closed.
func (s *Store) Tombstone(ctx context.Context, id string) (uint64, bool, error) {
	if err := s.check(ctx); err != nil {
		return 0, false, fmt.Errorf("memstore: tombstone: %w", err)
	}
	sh := s.shardFor(id)
	sh.mu.RLock()
	e, ok := sh.m[id]
	sh.mu.RUnlock()
	if !ok || !e.tombstone || e.expired(s.now().UnixMilli()) {
		return 0, false, nil
	}
	return e.version, true, nil
}

// record copies e into a Record the caller owns. It runs outside the shard
// lock: stored data is never mutated in place.
func (e entry) record() store.Record {
	return store.Record{
		Data:      bytes.Clone(e.data),
		ExpiresAt: time.UnixMilli(e.expiresMs),
		Version:   e.version,
	}
}

// Set stores a copy of rec under id; see [store.Store] and
// [store.Versioned]. ExpiresAt is kept truncated to the millisecond; a zero
// ExpiresAt means MaxTTL from now; one that is not after now deletes instead
// (under the compare rules when rec.Version is nonzero) and leaves no
// tombstone. A nonzero rec.Version makes Set a compare-and-set. The caller
// may modify rec.Data after Set returns. Set fails only when ctx is done or
// the store is closed.
func (s *Store) Set(ctx context.Context, id string, rec store.Record) error {
	return s.SetAt(ctx, id, rec, s.now())
}

// SetAt is Set judged at now instead of the store's clock; see
// [store.SetterAt].
func (s *Store) SetAt(ctx context.Context, id string, rec store.Record, now time.Time) error {
	if err := s.check(ctx); err != nil {
		return fmt.Errorf("memstore: set: %w", err)
	}
	if err := store.CheckExpiry(rec.ExpiresAt); err != nil {
		return fmt.Errorf("memstore: set: %w", err)
	}
	nowMs := now.UnixMilli()
	expMs := s.expiresMs(rec.ExpiresAt, now)
	live := expMs > nowMs
	var data []byte
	if live {
		data = bytes.Clone(rec.Data) // before locking: copying is the slow part
	}

	sh := s.shardFor(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	cur, exists, ok := sh.current(id, nowMs)
	if ok && rec.Version != 0 && cur.blocksSet(rec.Version) {
		return nil
	}
	if !live {
		delete(sh.m, id)
		return nil
	}
	if !exists {
		sh.makeRoom(s.shardCap, nowMs)
	}
	sh.m[id] = entry{data: data, expiresMs: expMs, version: rec.Version}
	return nil
}

// Delete removes id's record and any tombstone; see [store.Store]. A
// missing id is not an error. Delete fails only when ctx is done or the store
// is closed.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := s.check(ctx); err != nil {
		return fmt.Errorf("memstore: delete: %w", err)
	}
	sh := s.shardFor(id)
	sh.mu.Lock()
	delete(sh.m, id)
	sh.mu.Unlock()
	return nil
}

// DeleteVersion removes id unless a record or tombstone with a higher
// version is stored, and leaves a tombstone at version until until (zero
// until: MaxTTL from now), so Sets at version or lower are ignored meanwhile;
// see [store.Versioned]. An until that is not after now, or a version of 0
// (which could block no versioned Set), removes without a tombstone.
// DeleteVersion fails only when ctx is done or the store is closed.
func (s *Store) DeleteVersion(ctx context.Context, id string, version uint64, until time.Time) error {
	if err := s.check(ctx); err != nil {
		return fmt.Errorf("memstore: delete version: %w", err)
	}
	if err := store.CheckExpiry(until); err != nil {
		return fmt.Errorf("memstore: delete version: %w", err)
	}
	now := s.now()
	nowMs := now.UnixMilli()
	untilMs := s.expiresMs(until, now)

	sh := s.shardFor(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	cur, exists, ok := sh.current(id, nowMs)
	if ok && cur.version > version {
		return nil
	}
	if untilMs <= nowMs || version == 0 {
		delete(sh.m, id)
		return nil
	}
	if !exists {
		sh.makeRoom(s.shardCap, nowMs)
	}
	sh.m[id] = entry{expiresMs: untilMs, version: version, tombstone: true}
	return nil
}
