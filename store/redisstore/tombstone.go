package redisstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/store"
)

var _ store.TombstoneReader = (*Store)(nil)

// Tombstone reports the version of the tombstone stored under id: one GET
// of its sidecar. A record, nothing, or a tombstone Redis has expired is
// found false; a damaged sidecar is an error wrapping [store.ErrCorrupt].
// See [store.TombstoneReader]: a router asks it when Redis lacks a session
// its local store still holds, to tell a session deleted on another
// instance from one never copied.
func (s *Store) Tombstone(ctx context.Context, id string) (uint64, bool, error) {
	const op = "tombstone"
	if err := s.check(ctx, op); err != nil {
		return 0, false, err
	}
	_, sideKey := s.recordKeys(id)
	cctx, cancel := s.bound(ctx)
	defer cancel()
	v, err := s.client.Get(cctx, sideKey).Result()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, opError(op, cctx, err)
	}
	sc, err := decodeSidecar(v)
	if err != nil {
		return 0, false, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	if sc.kind != kindTombstone {
		return 0, false, nil
	}
	return sc.version, true, nil
}
