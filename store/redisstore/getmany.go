package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/store"
)

var _ store.BatchGetter = (*Store)(nil)

// GetMany reads every id as Get does, in one pipeline of MGETs of each
// record's data key and sidecar (one round trip on a standalone server, one
// per master on a cluster; see the package's reads), and reports
// tombstones (see [store.Lookup]). Records whose sidecar lacks their
// expiry (written by the session library itself or by a previous release)
// are read again with the get script, in one more pipeline. Replies decode
// through Get's own decoder, and each record is read atomically; the batch
// is not a snapshot.
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
	dataKeys, sideKeys := make([]string, len(ids)), make([]string, len(ids))
	mgets := make([]*redis.SliceCmd, len(ids))
	_, err := s.client.Pipelined(cctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			dataKeys[i], sideKeys[i] = s.recordKeys(id)
			mgets[i] = p.MGet(cctx, dataKeys[i], sideKeys[i])
		}
		return nil
	})
	if err != nil {
		return nil, opError(op, cctx, err)
	}
	now := s.opts.Now()
	out := make([]store.Lookup, len(ids))
	var again []int // records whose expiry is only on the data key
	for i, cmd := range mgets {
		if out[i] = decodeLookup(mgetReply(cmd.Val()), now); errors.Is(out[i].Err, errNeedExpiry) {
			again = append(again, i)
		}
	}
	if len(again) == 0 {
		return out, nil
	}
	cmds, err := s.readScripts(cctx, s.client, again, dataKeys, sideKeys)
	if err != nil {
		return nil, opError(op, cctx, err)
	}
	for j, i := range again {
		vals, err := cmds[j].Slice()
		if err != nil {
			return nil, opError(op, cctx, err)
		}
		out[i] = decodeLookup(scriptReply(vals), now)
	}
	return out, nil
}

// decodeLookup turns one session's read into a Lookup: the record as Get
// decodes it (decodeRecord; errNeedExpiry when r lacks an expiry the
// sidecar does not carry), plus the tombstone the sidecar may hold
// (decodeSidecar).
func decodeLookup(r recordReply, now time.Time) store.Lookup {
	rec, found, err := decodeRecord(r, now)
	if err != nil {
		return store.Lookup{Err: err}
	}
	l := store.Lookup{Record: rec, Found: found}
	if side, ok := r.side.(string); ok {
		sc, err := decodeSidecar(side)
		if err != nil {
			return store.Lookup{Err: err}
		}
		if sc.kind == kindTombstone {
			l.Tombstoned, l.TombstoneVersion = true, sc.version
		}
	} else if r.side != nil {
		return store.Lookup{Err: fmt.Errorf("unexpected sidecar reply of type %T", r.side)}
	}
	return l
}
