package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// SidecarCounts is what [Store.RemoveSidecars] found and did. Every count
// is of sidecar keys of this store's Prefix; data keys are never touched.
type SidecarCounts struct {
	// Records are sidecars beside a record ("d<version>..."), Tombstones
	// those of deleted sessions ("t<version>"), Other those whose value did
	// not decode or that vanished before they were read.
	Records    int64 `json:"records"`
	Tombstones int64 `json:"tombstones"`
	Other      int64 `json:"other"`
	// Removed counts the sidecars deleted (0 in a dry run).
	Removed int64 `json:"removed"`
	// Scanned counts the keys SCAN listed under the sidecar pattern, this
	// store's or not.
	Scanned int64 `json:"scanned"`
}

// Found is the number of sidecar keys found.
func (c SidecarCounts) Found() int64 { return c.Records + c.Tombstones + c.Other }

// RemoveSidecarsOptions configures [Store.RemoveSidecars].
type RemoveSidecarsOptions struct {
	// DryRun counts and deletes nothing.
	DryRun bool
	// Batch is the SCAN COUNT hint and so roughly the keys per round trip.
	// Zero means 10 times Options.ScanCount.
	Batch int
	// Progress, if set, is called after each batch with the counts so far,
	// on the calling goroutine.
	Progress func(SidecarCounts)
}

// RemoveSidecars deletes every sidecar key of this store's Prefix, records'
// and tombstones' alike, leaving the data keys exactly as the application's
// own session library keeps them (raw value, PXAT expiry). It is the last
// step of a migration (`migratectl finish`), once nothing runs the toolkit
// any more: a Migrator still writing would create sidecars again, and
// without tombstones a late copy of a deleted session could come back.
//
// It walks each master with SCAN MATCH "{*" (every sidecar key starts with
// '{', no data key does) and keeps the keys that are exactly the sidecar of
// a data key under Prefix, so another application's keys are never
// touched; each batch is read (classified) and deleted with GETDEL in one
// pipeline (GET in a dry run). ctx bounds the whole walk, Options.Timeout
// each round trip. On error the counts say what was done.
func (s *Store) RemoveSidecars(ctx context.Context, opts RemoveSidecarsOptions) (SidecarCounts, error) {
	const op = "remove sidecars"
	var c SidecarCounts
	if err := s.check(ctx, op); err != nil {
		return c, err
	}
	if opts.Batch < 0 {
		return c, fmt.Errorf("redisstore: %s: negative batch %d", op, opts.Batch)
	}
	batch := int64(opts.Batch)
	if batch == 0 {
		batch = int64(10 * s.opts.ScanCount)
	}
	nodes, err := s.scanNodes(ctx)
	if err != nil {
		return c, err
	}
	for _, node := range nodes {
		var cursor uint64
		for {
			if err := ctx.Err(); err != nil {
				return c, fmt.Errorf("redisstore: %s: %w", op, err)
			}
			keys, next, err := s.scanPage(ctx, node, cursor, "{*", batch)
			if err != nil {
				return c, opError(op, ctx, err)
			}
			c.Scanned += int64(len(keys))
			var side []string
			for _, k := range keys {
				if s.isSidecarKey(k) {
					side = append(side, k)
				}
			}
			if err := s.removeBatch(ctx, side, opts.DryRun, &c); err != nil {
				return c, err
			}
			if opts.Progress != nil {
				opts.Progress(c)
			}
			if next == 0 {
				break
			}
			cursor = next
		}
	}
	return c, nil
}

// removeBatch reads (and unless dryRun deletes) keys in one pipeline and
// counts them by kind.
func (s *Store) removeBatch(ctx context.Context, keys []string, dryRun bool, c *SidecarCounts) error {
	if len(keys) == 0 {
		return nil
	}
	cctx, cancel := s.bound(ctx)
	defer cancel()
	cmds := make([]*redis.StringCmd, len(keys))
	_, err := s.client.Pipelined(cctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			if dryRun {
				cmds[i] = p.Get(cctx, k)
			} else {
				cmds[i] = p.GetDel(cctx, k)
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return opError("remove sidecars", cctx, err)
	}
	for _, cmd := range cmds {
		v, err := cmd.Result()
		if err != nil {
			c.Other++ // gone meanwhile (expired)
			continue
		}
		if !dryRun {
			c.Removed++
		}
		sc, err := decodeSidecar(v)
		switch {
		case err != nil:
			c.Other++
		case sc.kind == kindTombstone:
			c.Tombstones++
		default:
			c.Records++
		}
	}
	return nil
}

// isSidecarKey reports whether key is exactly the sidecar key of a data key
// under this store's Prefix, in either form of sidecarKey.
func (s *Store) isSidecarKey(key string) bool {
	var dataKey string
	switch {
	case strings.HasSuffix(key, sidecarSuffix) && !strings.Contains(key, sidecarInfix):
		dataKey = key[1 : len(key)-len(sidecarSuffix)]
	case len(key) > 1+tagLen+len(sidecarInfix) && key[1+tagLen:1+tagLen+len(sidecarInfix)] == sidecarInfix:
		dataKey = key[1+tagLen+len(sidecarInfix):]
	default:
		return false
	}
	return strings.HasPrefix(dataKey, s.opts.Prefix) && sidecarKey(dataKey) == key
}
