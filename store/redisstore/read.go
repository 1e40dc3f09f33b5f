package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// Reads. A record is read with one MGET of its data key and its sidecar
// (one slot, so one command on every topology), which Redis runs natively:
// the sidecar carries the version and the expiry, the data key the bytes.
// MGET is atomic, so a record is never paired with another write's version.
// Only a record whose sidecar lacks the expiry needs the data key's own
// PEXPIRETIME: a session written by the application's own session library
// (no sidecar), a sidecar of the previous release ("d<version>"), data
// beside a tombstone. Those are read again with the get script, atomically
// with their expiry: a second round trip for them alone.

// Get returns the live record stored under id: one MGET, and for a record
// whose sidecar does not carry its expiry, one more read (the get script).
// The record's Version is the stored version (0 for an unversioned record)
// and its ExpiresAt the record's absolute expiry, exact to the millisecond;
// a key without expiry, which this store never writes, has a zero
// ExpiresAt. A record whose expiry has passed by the store's clock is a
// miss even if Redis still holds it. A damaged sidecar is an error wrapping
// [store.ErrCorrupt].
func (s *Store) Get(ctx context.Context, id string) (store.Record, bool, error) {
	const op = "get"
	if err := s.check(ctx, op); err != nil {
		return store.Record{}, false, err
	}
	dataKey, sideKey := s.recordKeys(id)
	cctx, cancel := s.bound(ctx)
	defer cancel()
	cmd := redis.NewSliceCmd(cctx, newMGetArgs(dataKey, sideKey)...)
	if err := s.client.Process(cctx, cmd); err != nil {
		return store.Record{}, false, opError(op, cctx, err)
	}
	rec, found, err := decodeRecord(mgetReply(cmd.Val()), s.opts.Now())
	if errors.Is(err, errNeedExpiry) {
		var vals []any
		if vals, err = s.scripts.get.RunRO(cctx, s.client, []string{dataKey, sideKey}).Slice(); err != nil {
			return store.Record{}, false, opError(op, cctx, err)
		}
		rec, found, err = decodeRecord(scriptReply(vals), s.opts.Now())
	}
	if err != nil {
		return store.Record{}, false, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	return rec, found, nil
}

// mgetArgs is the argument list of one MGET of a record's two keys in a
// single allocation: go-redis takes arguments as []any, and a string put in
// an interface is copied to the heap, once per key; a *string is not
// (go-redis writes *string arguments and routes cluster commands by them as
// it does strings). MGet itself would allocate a fourth time, to copy the
// keys into a slice of its own.
type mgetArgs struct {
	args [3]any
	keys [2]string
}

// newMGetArgs returns the arguments of MGET dataKey sideKey.
func newMGetArgs(dataKey, sideKey string) []any {
	a := &mgetArgs{keys: [2]string{dataKey, sideKey}}
	a.args = [3]any{"mget", &a.keys[0], &a.keys[1]}
	return a.args[:]
}

// recordReply is what a read returned for one session: the values of its
// data key and of its sidecar (nil for a missing key, else a string, as
// go-redis returns them), and, when the read asked for it, the data key's
// PEXPIRETIME.
type recordReply struct {
	data, side any
	// pexpiretime is the data key's PEXPIRETIME reply (Unix ms, -1 for no
	// expiry, -2 for no key) when expiryRead.
	pexpiretime any
	expiryRead  bool
	// err is a reply that does not have the expected shape.
	err error
}

// mgetReply is the recordReply of MGET dataKey sidecarKey.
func mgetReply(vals []any) recordReply {
	if len(vals) != 2 {
		return recordReply{err: fmt.Errorf("unexpected MGET reply of %d values, want 2", len(vals))}
	}
	return recordReply{data: vals[0], side: vals[1]}
}

// scriptReply is the recordReply of the get script.
func scriptReply(vals []any) recordReply {
	if len(vals) != 3 {
		return recordReply{err: fmt.Errorf("unexpected reply of %d values, want 3", len(vals))}
	}
	return recordReply{data: vals[0], side: vals[1], pexpiretime: vals[2], expiryRead: true}
}

// errNeedExpiry is decodeRecord's answer for a record whose expiry is only
// on its data key when the reply lacks the data key's PEXPIRETIME: read it
// again with the get script.
var errNeedExpiry = errors.New("redisstore: the record's expiry is only on its data key")

// decodeRecord is the one decoder of a stored record: every read (Get,
// Scan, batches) turns its replies into records here, so they all agree on
// versions, expiry and what is corrupt. It hides records whose expiry has
// passed at now. It returns errNeedExpiry when the record's expiry is not
// in its sidecar and r has no PEXPIRETIME (see readRecords), and an error
// wrapping [store.ErrCorrupt] for a damaged sidecar beside data.
//
// Where both are present, the data key's PEXPIRETIME wins over the
// sidecar's copy: the data key is what Redis expires. This store writes
// them equal; only a writer that ignores sidecars could make them differ.
func decodeRecord(r recordReply, now time.Time) (store.Record, bool, error) {
	if r.err != nil {
		return store.Record{}, false, r.err
	}
	if r.data == nil {
		return store.Record{}, false, nil // a tombstone or nothing
	}
	data, ok := r.data.(string)
	if !ok {
		return store.Record{}, false, fmt.Errorf("unexpected data reply of type %T", r.data)
	}
	var (
		rec       store.Record
		pxat      int64
		hasExpiry bool
	)
	if r.side != nil {
		side, ok := r.side.(string)
		if !ok {
			return store.Record{}, false, fmt.Errorf("unexpected sidecar reply of type %T", r.side)
		}
		sc, err := decodeSidecar(side)
		if err != nil {
			return store.Record{}, false, err
		}
		// A tombstone beside data means something other than this store
		// wrote the data key; that data is unversioned.
		if sc.kind == kindRecord {
			rec.Version = sc.version
			pxat, hasExpiry = sc.pxat, sc.hasExpiry
		}
	}
	if r.expiryRead {
		ms, ok := r.pexpiretime.(int64)
		if !ok {
			return store.Record{}, false, fmt.Errorf("unexpected expiry reply of type %T", r.pexpiretime)
		}
		switch {
		case ms == -2: // the key vanished; cannot happen inside one script, but cheap to honour
			return store.Record{}, false, nil
		case ms == -1: // no expiry: not written by this store
			hasExpiry = false
		default:
			pxat, hasExpiry = ms, true
		}
	} else if !hasExpiry {
		return store.Record{}, false, errNeedExpiry
	}
	if hasExpiry {
		rec.ExpiresAt = time.UnixMilli(pxat)
		if !rec.ExpiresAt.After(now) {
			return store.Record{}, false, nil
		}
	}
	rec.Data = replyBytes(data)
	return rec, true, nil
}

// readResult is one record read by readRecords.
type readResult struct {
	rec   store.Record
	found bool
	err   error // the record could not be decoded (wraps store.ErrCorrupt for a damaged sidecar)
}

// readRecords reads the records at dataKeys through c, in one pipeline of
// MGETs and, only for records whose expiry their sidecar does not carry,
// one pipeline of get scripts: one round trip for records this release
// wrote, two when some are older. Each record is read atomically, but the
// batch is not a snapshot. res[i] is the record at dataKeys[i], decoded by
// decodeRecord at now; err is a failure of the round trips themselves. c
// may be a cluster client (each MGET goes to its slot's node) or one node.
// Batches must fit in one call's time (a few hundred keys).
func (s *Store) readRecords(ctx context.Context, c redis.Cmdable, dataKeys []string, now time.Time) (res []readResult, err error) {
	res = make([]readResult, len(dataKeys))
	sideKeys := make([]string, len(dataKeys))
	mgets := make([]*redis.SliceCmd, len(dataKeys))
	if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, key := range dataKeys {
			sideKeys[i] = sidecarKey(key)
			mgets[i] = p.MGet(ctx, key, sideKeys[i])
		}
		return nil
	}); err != nil {
		return nil, err
	}
	var again []int // records whose expiry is only on the data key
	for i, cmd := range mgets {
		res[i].rec, res[i].found, res[i].err = decodeRecord(mgetReply(cmd.Val()), now)
		if errors.Is(res[i].err, errNeedExpiry) {
			again = append(again, i)
		}
	}
	if len(again) == 0 {
		return res, nil
	}
	cmds, err := s.readScripts(ctx, c, again, dataKeys, sideKeys)
	if err != nil {
		return nil, err
	}
	for j, i := range again {
		vals, err := cmds[j].Slice()
		if err != nil {
			return nil, err
		}
		res[i].rec, res[i].found, res[i].err = decodeRecord(scriptReply(vals), now)
	}
	return res, nil
}

// readScripts runs the get script for the records idx in one pipeline. A
// pipeline cannot fall back from EVALSHA to EVAL per command, so when the
// node has lost its script cache (NOSCRIPT) the script is loaded and the
// records read once more.
func (s *Store) readScripts(ctx context.Context, c redis.Cmdable, idx []int, dataKeys, sideKeys []string) ([]*redis.Cmd, error) {
	for attempt := 0; ; attempt++ {
		cmds := make([]*redis.Cmd, len(idx))
		_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for j, i := range idx {
				cmds[j] = s.scripts.get.EvalShaRO(ctx, p, []string{dataKeys[i], sideKeys[i]})
			}
			return nil
		})
		if err == nil {
			return cmds, nil
		}
		if attempt > 0 || !redis.HasErrorPrefix(err, "NOSCRIPT") {
			return nil, err
		}
		if err := s.scripts.get.Load(ctx, c).Err(); err != nil {
			return nil, err
		}
	}
}

// replyBytes returns the bytes of a bulk-string reply without copying them.
// go-redis reads every bulk string into a fresh []byte of its own and hands
// it over as a string (proto.Reader.readStringReply, also for replies served
// from its client-side cache, which re-parses container replies such as
// MGET's and the scripts'), so the bytes had no other owner, nobody reads
// them through the string once the command is dropped, and they may become
// the caller's Data, which the caller may change: the copy a plain
// []byte(data) would make (as large as the session) is one the contract does
// not require. TestReplyBytesAreTheCallers checks this against the pinned
// go-redis: a record read twice is two buffers, and changing one changes
// neither the store nor a later read.
func replyBytes(s string) []byte {
	if s == "" {
		return []byte{}
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
