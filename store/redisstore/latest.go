package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/store"
)

var _ store.LatestWriter = (*Store)(nil)

// Results of the latest scripts besides a version.
const resultExhausted int64 = -2

// SetLatest stores rec under id at a version above every version stored for
// it, in one Lua script, and returns that version; see [store.LatestWriter].
// The data key and sidecar are written as by a versioned Set. An expiry that
// is not in the future, or after [store.MaxExpiresAt], is refused with an
// error wrapping [store.ErrExpiry] before anything is sent; a damaged sidecar
// fails with an error wrapping [store.ErrCorrupt] and writes nothing.
func (s *Store) SetLatest(ctx context.Context, id string, rec store.Record) (uint64, error) {
	const op = "set latest"
	if err := s.check(ctx, op); err != nil {
		return 0, err
	}
	if err := store.CheckExpiry(rec.ExpiresAt); err != nil {
		return 0, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	now := s.opts.Now()
	exp := rec.ExpiresAt
	if exp.IsZero() {
		exp = now.Add(s.opts.MaxTTL)
	}
	exp = exp.Truncate(time.Millisecond)
	if !exp.After(now) {
		return 0, fmt.Errorf("redisstore: %s: %w: expiry not in the future (a delete is DeleteLatest)", op, store.ErrExpiry)
	}
	px := exp.UnixMilli()
	dataKey, sideKey := s.recordKeys(id)
	cctx, cancel := s.bound(ctx)
	defer cancel()
	sc := s.scripts.setLatest
	v, err := scriptVersion(sc.run(cctx, s.client, append(sc.cmd(dataKey, sideKey, 4),
		rec.Data, rec.Version, px, recordSidecar(rec.Version, px, s.opts.LegacySidecars))))
	if err != nil {
		return 0, opError(op, cctx, err)
	}
	return v, nil
}

// DeleteLatest removes id and leaves a tombstone at a version above every
// version stored for it, in one Lua script, and returns that version; see
// [store.LatestWriter]. With a zero until the tombstone lasts until the
// deleted record's own expiry, read inside the script, or until fallback
// when no record is stored (a zero fallback: MaxTTL from now).
func (s *Store) DeleteLatest(ctx context.Context, id string, version uint64, until, fallback time.Time) (uint64, error) {
	const op = "delete latest"
	if err := s.check(ctx, op); err != nil {
		return 0, err
	}
	for _, t := range []time.Time{until, fallback} {
		if err := store.CheckExpiry(t); err != nil {
			return 0, fmt.Errorf("redisstore: %s: %w", op, err)
		}
	}
	now := s.opts.Now()
	pxat := func(t time.Time) string {
		if t.IsZero() {
			t = now.Add(s.opts.MaxTTL)
		}
		if t = t.Truncate(time.Millisecond); !t.After(now) {
			return "" // already past: no tombstone
		}
		return strconv.FormatInt(t.UnixMilli(), 10)
	}
	px, fb := "auto", pxat(fallback)
	if !until.IsZero() {
		px, fb = pxat(until), ""
	}
	dataKey, sideKey := s.recordKeys(id)
	cctx, cancel := s.bound(ctx)
	defer cancel()
	sc := s.scripts.deleteLatest
	v, err := scriptVersion(sc.run(cctx, s.client, append(sc.cmd(dataKey, sideKey, 3), version, px, fb)))
	if err != nil {
		return 0, opError(op, cctx, err)
	}
	return v, nil
}

// scriptVersion reads the reply of a latest script: the version stored, as
// a decimal string, or a negative result code.
func scriptVersion(cmd *redis.Cmd) (uint64, error) {
	res, err := cmd.Result()
	if err != nil {
		return 0, err
	}
	return decodeVersionReply(res)
}

// decodeVersionReply decodes the reply of a latest script.
func decodeVersionReply(res any) (uint64, error) {
	switch r := res.(type) {
	case string:
		v, ok := canonicalUint(r, math.MaxUint64)
		if !ok {
			return 0, fmt.Errorf("script returned version %w", corruptSidecar(r))
		}
		return v, nil
	case int64:
		switch r {
		case resultCorrupt:
			return 0, fmt.Errorf("%w: version sidecar does not decode; nothing written", store.ErrCorrupt)
		case resultExhausted:
			return 0, errors.New("stored version is 2^64-1: no version above it; nothing written")
		}
		return 0, fmt.Errorf("unexpected script result %d", r)
	}
	return 0, fmt.Errorf("unexpected script reply of type %T", res)
}
