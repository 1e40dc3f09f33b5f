package redisstore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// Scan calls fn for every live session, as [store.Scanner] specifies. It
// walks each master (each shard of a Ring, the one server otherwise) with
// SCAN MATCH Prefix* COUNT ScanCount, never KEYS, and reads each page's
// records as Get does, in one pipeline (see readRecords), so every record
// is read atomically with its version and expiry. Keys that vanished or
// expired between SCAN and the read are skipped, as are sidecars (they
// never match the prefix). SCAN may return a key more than once; Scan
// remembers a 16-byte digest of every id it has visited so fn still sees
// each id once, which costs roughly 40 bytes of memory per session for the
// duration of the scan.
//
// fn runs on the calling goroutine, never concurrently, and never while a
// Redis call is in flight. ctx bounds the whole scan; each page (SCAN plus
// its pipeline) is also bounded by Options.Timeout. A damaged sidecar stops
// the scan with an error wrapping [store.ErrCorrupt].
func (s *Store) Scan(ctx context.Context, fn func(id string, rec store.Record) error) error {
	const op = "scan"
	if err := s.check(ctx, op); err != nil {
		return err
	}
	nodes, err := s.scanNodes(ctx)
	if err != nil {
		return err
	}
	sc := &scanner{
		s:     s,
		match: globEscape(s.opts.Prefix) + "*",
		seen:  make(map[[16]byte]struct{}),
		fn:    fn,
	}
	for _, node := range nodes {
		stop, err := sc.node(ctx, node)
		if err != nil || stop {
			return err
		}
	}
	return nil
}

// scanNodes lists the clients Scan must walk: every master of a cluster,
// every shard of a ring, or the store's own client.
func (s *Store) scanNodes(ctx context.Context) ([]redis.Cmdable, error) {
	var each func(context.Context, func(context.Context, *redis.Client) error) error
	switch c := s.client.(type) {
	case *redis.ClusterClient:
		each = c.ForEachMaster
	case *redis.Ring:
		each = c.ForEachShard
	default:
		return []redis.Cmdable{s.client}, nil
	}
	// The callbacks run concurrently; they only collect the node clients,
	// which are then scanned one after another.
	var (
		mu    sync.Mutex
		nodes []redis.Cmdable
	)
	cctx, cancel := s.bound(ctx)
	defer cancel()
	err := each(cctx, func(_ context.Context, node *redis.Client) error {
		mu.Lock()
		defer mu.Unlock()
		nodes = append(nodes, node)
		return nil
	})
	if err != nil {
		return nil, opError("scan", cctx, err)
	}
	return nodes, nil
}

// scanner is the state of one Scan call.
type scanner struct {
	s     *Store
	match string
	seen  map[[16]byte]struct{}
	fn    func(id string, rec store.Record) error
}

// node scans one node to the end. stop reports that fn asked to stop.
func (sc *scanner) node(ctx context.Context, node redis.Cmdable) (stop bool, err error) {
	var cursor uint64
	for {
		keys, next, recs, err := sc.page(ctx, node, cursor)
		if err != nil {
			return false, err
		}
		for i, key := range keys {
			if recs[i] == nil {
				continue
			}
			id := key[len(sc.s.opts.Prefix):]
			digest := sha256.Sum256([]byte(id))
			var d [16]byte
			copy(d[:], digest[:])
			if _, dup := sc.seen[d]; dup {
				continue
			}
			sc.seen[d] = struct{}{}
			if err := ctx.Err(); err != nil {
				return false, fmt.Errorf("redisstore: scan: %w", err)
			}
			if err := sc.fn(id, *recs[i]); err != nil {
				if errors.Is(err, store.ErrStopScan) {
					return true, nil
				}
				return false, err
			}
		}
		if next == 0 {
			return false, nil
		}
		cursor = next
	}
}

// page runs one SCAN step and reads its records. recs[i] is nil when
// keys[i] holds no live record (or is not a data key).
func (sc *scanner) page(ctx context.Context, node redis.Cmdable, cursor uint64) (keys []string, next uint64, recs []*store.Record, err error) {
	s := sc.s
	if err := ctx.Err(); err != nil {
		return nil, 0, nil, fmt.Errorf("redisstore: scan: %w", err)
	}
	cctx, cancel := s.bound(ctx)
	defer cancel()
	keys, next, err = node.Scan(cctx, cursor, sc.match, int64(s.opts.ScanCount)).Result()
	if err != nil {
		return nil, 0, nil, opError("scan", cctx, err)
	}
	// MATCH already filters; this guards the escaping, and keeps sidecars
	// out whatever the pattern matched.
	data := keys[:0:0]
	for _, k := range keys {
		if strings.HasPrefix(k, s.opts.Prefix) {
			data = append(data, k)
		}
	}
	keys = data
	if len(keys) == 0 {
		return nil, next, nil, nil
	}
	read, err := s.readRecords(cctx, node, keys, s.opts.Now())
	if err != nil {
		return nil, 0, nil, opError("scan", cctx, err)
	}
	recs = make([]*store.Record, len(keys))
	for i := range read {
		if err := read[i].err; err != nil {
			return nil, 0, nil, fmt.Errorf("redisstore: scan: %w", err)
		}
		if read[i].found {
			recs[i] = &read[i].rec
		}
	}
	return keys, next, recs, nil
}

// globEscape escapes the characters SCAN's MATCH treats specially, so the
// prefix matches literally.
func globEscape(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
