package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/store"
)

var _ store.BatchGetter = (*Store)(nil)

// GetMany reads every id as Get does, in one pipeline (one round trip on a
// standalone server, one per master on a cluster), and reports tombstones
// (see [store.Lookup]). Replies decode through Get's own decoder.
//
// Each session is an MGET of its data and sidecar keys (one slot, so one
// command on every topology, read atomically together) followed in the same
// pipeline by a PEXPIRETIME of the data key. No script runs: measured with
// INFO commandstats on a loopback server, this costs Redis 2.1 µs per
// session, about what a bare MGET of the two keys costs (2.6 µs in the same
// run), where Get's read script costs 6.8 µs and a script reading 128
// sessions per call 6.5 µs per session. The price is that the expiry is
// read by a second command: a write landing between the two can pair a
// record with the next write's expiry. Callers that act on a difference
// re-read first (the full diff does); use Get for one atomic read.
//
// A damaged sidecar fails its own Lookup with an error wrapping
// [store.ErrCorrupt]; err is non-nil only when Redis could not answer. The
// batch is one call to Redis bounded by Options.Timeout unless ctx ends
// sooner: keep batches to what one Timeout can carry (a few thousand ids).
func (s *Store) GetMany(ctx context.Context, ids []string) ([]store.Lookup, error) {
	const op = "get many"
	if err := s.check(ctx, op); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return []store.Lookup{}, nil
	}
	cctx, cancel := s.bound(ctx)
	defer cancel()
	mgets := make([]*redis.SliceCmd, len(ids))
	exps := make([]*redis.Cmd, len(ids))
	_, err := s.client.Pipelined(cctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			dataKey := s.opts.Prefix + id
			mgets[i] = p.MGet(cctx, dataKey, sidecarKey(dataKey))
			// Do, not PExpireTime: its Duration overflows past 2262.
			exps[i] = p.Do(cctx, "PEXPIRETIME", dataKey)
		}
		return nil
	})
	if err != nil {
		return nil, opError(op, cctx, err)
	}
	now := s.opts.Now()
	out := make([]store.Lookup, len(ids))
	for i := range ids {
		pair := mgets[i].Val()
		ms, err := exps[i].Int64()
		if err != nil || len(pair) != 2 {
			return nil, opError(op, cctx, fmt.Errorf("unexpected reply: %d values for 2 keys, expiry %v", len(pair), err))
		}
		out[i] = decodeLookup([]any{pair[0], pair[1], ms}, now)
	}
	return out, nil
}

// decodeLookup turns one session's read (data, sidecar, expiry in Unix ms:
// the shape of the get script's reply) into a Lookup: the record as Get
// decodes it (decodeRecord), plus the tombstone the sidecar may hold
// (decodeSidecar).
func decodeLookup(vals []any, now time.Time) store.Lookup {
	rec, found, err := decodeRecord(vals, now)
	if err != nil {
		return store.Lookup{Err: err}
	}
	l := store.Lookup{Record: rec, Found: found}
	if side, ok := vals[1].(string); ok {
		sc, err := decodeSidecar(side)
		if err != nil {
			return store.Lookup{Err: err}
		}
		if sc.kind == kindTombstone {
			l.Tombstoned, l.TombstoneVersion = true, sc.version
		}
	} else if vals[1] != nil {
		return store.Lookup{Err: fmt.Errorf("unexpected sidecar reply of type %T", vals[1])}
	}
	return l
}
