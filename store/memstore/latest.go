package memstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// SetLatest stores rec under id above whatever is stored; see
// [store.LatestWriter]. It fails with an error wrapping [store.ErrExpiry]
// when rec.ExpiresAt is not in the future or after [store.MaxExpiresAt].
// memstore implements it so that tests can stand it in for Redis; a local
// store never needs it.
func (s *Store) SetLatest(ctx context.Context, id string, rec store.Record) (uint64, error) {
	if err := s.check(ctx); err != nil {
		return 0, fmt.Errorf("memstore: set latest: %w", err)
	}
	if err := store.CheckExpiry(rec.ExpiresAt); err != nil {
		return 0, fmt.Errorf("memstore: set latest: %w", err)
	}
	now := s.now()
	nowMs := now.UnixMilli()
	expMs := s.expiresMs(rec.ExpiresAt, now)
	if expMs <= nowMs {
		return 0, fmt.Errorf("memstore: set latest: %w: expiry not in the future (a delete is DeleteLatest)", store.ErrExpiry)
	}
	data := bytes.Clone(rec.Data)

	sh := s.shardFor(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	cur, exists, ok := sh.current(id, nowMs)
	v, err := above(rec.Version, cur, ok)
	if err != nil {
		return 0, fmt.Errorf("memstore: set latest: %w", err)
	}
	if !exists {
		sh.makeRoom(s.shardCap, nowMs)
	}
	sh.m[id] = entry{data: data, expiresMs: expMs, version: v}
	return v, nil
}

// DeleteLatest removes id and leaves a tombstone above whatever is stored;
// see [store.LatestWriter].
func (s *Store) DeleteLatest(ctx context.Context, id string, version uint64, until, fallback time.Time) (uint64, error) {
	if err := s.check(ctx); err != nil {
		return 0, fmt.Errorf("memstore: delete latest: %w", err)
	}
	for _, t := range []time.Time{until, fallback} {
		if err := store.CheckExpiry(t); err != nil {
			return 0, fmt.Errorf("memstore: delete latest: %w", err)
		}
	}
	now := s.now()
	nowMs := now.UnixMilli()

	sh := s.shardFor(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	cur, exists, ok := sh.current(id, nowMs)
	v, err := above(version, cur, ok)
	if err != nil {
		return 0, fmt.Errorf("memstore: delete latest: %w", err)
	}
	untilMs := s.expiresMs(fallback, now)
	switch {
	case !until.IsZero():
		untilMs = s.expiresMs(until, now)
	case ok && !cur.tombstone:
		untilMs = cur.expiresMs // the session's own expiry
	}
	if untilMs <= nowMs {
		delete(sh.m, id)
		return v, nil
	}
	if !exists {
		sh.makeRoom(s.shardCap, nowMs)
	}
	sh.m[id] = entry{expiresMs: untilMs, version: v, tombstone: true}
	return v, nil
}

// errExhausted: nothing can be ordered after the largest version.
var errExhausted = errors.New("stored version is 2^64-1: no version above it; nothing written")

// above is the version a latest write at v stores over cur (ok: cur is a
// live record or tombstone): v, unless something at v or above is stored.
func above(v uint64, cur entry, ok bool) (uint64, error) {
	switch {
	case !ok || cur.version < v:
		return v, nil
	case cur.version == math.MaxUint64:
		return 0, errExhausted
	}
	return cur.version + 1, nil
}
