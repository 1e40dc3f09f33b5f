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

// latestAttempts bounds the compare-and-set attempts of SetLatest and
// DeleteLatest. Each attempt after the first is made because another writer
// stored a version at or above the previous attempt's in between: that
// takes writers racing on one session, so a handful is plenty, and a
// session written that hard fails the write ([store.ErrContended]) rather
// than looping.
const latestAttempts = 8

// SetLatest stores rec under id at a version above every version stored for
// it and returns that version; see [store.LatestWriter]. The data key and
// sidecar are written as by a versioned Set.
//
// Each attempt is a compare-and-set in one Lua script: it stores rec at
// the version it carries, or reports the higher version stored, and the
// next attempt carries that plus one. So no command stores above the
// version it was sent with: a write the client gave up on (a timeout)
// that reaches a slow server after a newer write of the session was
// stored, or after its delete, changes nothing, where a script that
// stored "above whatever is there" would overwrite the newer write or
// resurrect the session. The fence is the versions: a late command still
// lands above a newer write that carries a lower version, which takes a
// writer whose clock leads the newer writer's by more than the time
// between the two writes (at least the client's timeout).
//
// An expiry that is not in the future, or after [store.MaxExpiresAt], is
// refused with an error wrapping [store.ErrExpiry] before anything is sent;
// a damaged sidecar fails with an error wrapping [store.ErrCorrupt] and
// writes nothing.
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
	v, err := latest(rec.Version, func(v uint64) *redis.Cmd {
		return sc.run(cctx, s.client, append(sc.cmd(dataKey, sideKey, 4),
			rec.Data, v, px, recordSidecar(v, px, s.opts.LegacySidecars)))
	})
	if err != nil {
		return 0, opError(op, cctx, err)
	}
	return v, nil
}

// DeleteLatest removes id and leaves a tombstone at a version above every
// version stored for it, and returns that version; see
// [store.LatestWriter]. Its attempts are compare-and-sets as SetLatest's:
// a delete that reaches the server late never removes a newer write. With
// a zero until the tombstone lasts until the deleted record's own expiry,
// read inside the script, or until fallback when no record is stored (a
// zero fallback: MaxTTL from now).
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
	v, err := latest(version, func(v uint64) *redis.Cmd {
		return sc.run(cctx, s.client, append(sc.cmd(dataKey, sideKey, 3), v, px, fb))
	})
	if err != nil {
		return 0, opError(op, cctx, err)
	}
	return v, nil
}

// latest makes the attempts of a latest write, starting at version v:
// attempt runs the script at a version and returns its command.
func latest(v uint64, attempt func(v uint64) *redis.Cmd) (uint64, error) {
	for range latestAttempts {
		stored, applied, err := decodeLatestReply(attempt(v).Result())
		if err != nil || applied {
			return v, err
		}
		if stored == math.MaxUint64 {
			return 0, errors.New("stored version is 2^64-1: no version above it; nothing written")
		}
		v = stored + 1
	}
	return 0, fmt.Errorf("%w: %d attempts each found a newer version stored; nothing written", store.ErrContended, latestAttempts)
}

// decodeLatestReply decodes the reply of an attempt of a latest script:
// applied, or the version stored that refused it.
func decodeLatestReply(res any, err error) (stored uint64, applied bool, _ error) {
	if err != nil {
		return 0, false, err
	}
	switch r := res.(type) {
	case string:
		v, ok := canonicalUint(r, math.MaxUint64)
		if !ok {
			return 0, false, fmt.Errorf("script returned version %w", corruptSidecar(r))
		}
		return v, false, nil
	case int64:
		switch r {
		case resultApplied:
			return 0, true, nil
		case resultCorrupt:
			return 0, false, fmt.Errorf("%w: version sidecar does not decode; nothing written", store.ErrCorrupt)
		}
		return 0, false, fmt.Errorf("unexpected script result %d", r)
	}
	return 0, false, fmt.Errorf("unexpected script reply of type %T", res)
}
