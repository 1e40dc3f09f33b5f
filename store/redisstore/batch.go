package redisstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/store"
)

var _ store.BatchSetter = (*Store)(nil)

// SetMany applies Set to every entry in one pipeline: one round trip on a
// standalone server, one per master on a cluster (go-redis splits the
// pipeline by node and sends the parts concurrently). Each entry has exactly
// the semantics of [Store.Set]; entries are independent, so their order
// does not matter.
//
// applied[i] reports whether entry i was written: true for an unversioned
// Set, and for a versioned Set that was applied (an equal stored version
// counts, as for Set: it is an idempotent retry); false when a higher
// version or a tombstone made it a no-op, or when it failed. A Set with a
// past expiry that deleted counts as written. err joins the failures,
// naming entries by index, never by id; a damaged sidecar fails its entry
// with an error wrapping [store.ErrCorrupt] and leaves it untouched.
//
// The whole batch is one call to Redis, bounded by Options.Timeout unless
// ctx ends sooner, so keep batches to what one Timeout can carry (a few
// hundred entries). A node that lost its script cache (NOSCRIPT) is sent the
// affected entries again with EVAL.
func (s *Store) SetMany(ctx context.Context, entries []store.Entry) (applied []bool, err error) {
	const op = "set many"
	applied = make([]bool, len(entries))
	if err := s.check(ctx, op); err != nil {
		return applied, err
	}
	if len(entries) == 0 {
		return applied, nil
	}
	now := s.opts.Now()
	writes := make([]write, len(entries))
	for i, e := range entries {
		writes[i] = s.planSet(e.ID, e.Record, now)
	}
	cctx, cancel := s.bound(ctx)
	defer cancel()

	errs := make([]error, len(entries))
	pending := make([]int, 0, len(entries)) // entries still to send
	var multi []int                         // versioned writes sent many per script call
	_, standalone := s.client.(*redis.Client)
	for i := range writes {
		w := &writes[i]
		if w.err != nil {
			errs[i] = w.err
			continue
		}
		if standalone && w.script == s.scripts.setVersioned {
			multi = append(multi, i)
		} else {
			pending = append(pending, i)
		}
	}
	s.setMulti(cctx, writes, multi, applied, errs)
	for attempt := 0; attempt < 2 && len(pending) > 0; attempt++ {
		eval := attempt > 0 // the retry sends the script text itself
		cmds := make([]redis.Cmder, len(pending))
		// Exec's error is also on the failed commands, read below.
		_, _ = s.client.Pipelined(cctx, func(p redis.Pipeliner) error {
			for j, i := range pending {
				cmds[j] = writes[i].queue(cctx, p, eval)
			}
			return nil
		})
		var retry []int
		for j, i := range pending {
			applied[i], errs[i] = writes[i].result(cmds[j])
			if !eval && redis.HasErrorPrefix(errs[i], "NOSCRIPT") {
				retry = append(retry, i)
			}
		}
		pending = retry
	}

	var failed []error
	for i, err := range errs {
		if err != nil {
			failed = append(failed, fmt.Errorf("entry %d: %w", i, err))
		}
	}
	if len(failed) == 0 {
		return applied, nil
	}
	return applied, opError(op, cctx, errors.Join(failed...))
}

// multiChunk bounds the entries of one setManyVersioned call, so that one
// script call never holds the server for long.
const multiChunk = 128

// setMulti carries out the versioned writes idx with setManyVersioned, many
// per script call, all calls in one pipeline. Only for servers whose
// scripts may touch keys of any slot (not a cluster). A chunk whose script
// is missing (NOSCRIPT) is sent again with EVAL.
func (s *Store) setMulti(ctx context.Context, writes []write, idx []int, applied []bool, errs []error) {
	if len(idx) == 0 {
		return
	}
	type chunk struct {
		idx  []int
		args []any // the whole command
		cmd  *redis.Cmd
	}
	sc := s.scripts.setManyVersioned
	var chunks []*chunk
	for start := 0; start < len(idx); start += multiChunk {
		c := &chunk{idx: idx[start:min(start+multiChunk, len(idx))]}
		// EVALSHA sha numkeys, then every entry's two keys, then every
		// entry's four arguments.
		n := len(c.idx)
		c.args = make([]any, 3+6*n)
		c.args[0], c.args[1], c.args[2] = "evalsha", sc.sha, 2*n
		keys, args := c.args[3:3+2*n], c.args[3+2*n:]
		for j, i := range c.idx {
			w := &writes[i]
			keys[2*j], keys[2*j+1] = w.dataKey, w.sideKey
			copy(args[4*j:4*j+4], w.args())
		}
		chunks = append(chunks, c)
	}
	_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, c := range chunks {
			c.cmd = sc.send(ctx, p, c.args, false)
		}
		return nil
	})
	for _, c := range chunks {
		if redis.HasErrorPrefix(c.cmd.Err(), "NOSCRIPT") {
			c.cmd = sc.send(ctx, s.client, c.args, true)
		}
		res, err := c.cmd.Int64Slice()
		if err == nil && len(res) != len(c.idx) {
			err = fmt.Errorf("redisstore: set many: script returned %d results for %d entries", len(res), len(c.idx))
		}
		for j, i := range c.idx {
			switch {
			case err != nil:
				errs[i] = err
			case res[j] == resultCorrupt:
				errs[i] = fmt.Errorf("sidecar: %w", store.ErrCorrupt)
			default:
				applied[i] = res[j] == resultApplied
			}
		}
	}
}

// queue adds w to a pipeline, with EVALSHA, or EVAL when eval is set.
func (w *write) queue(ctx context.Context, p redis.Pipeliner, eval bool) redis.Cmder {
	if w.script == nil {
		return p.Del(ctx, w.dataKey, w.sideKey)
	}
	return w.script.send(ctx, p, w.cmd(), eval)
}

// result reads the outcome of a command made by queue.
func (w *write) result(cmd redis.Cmder) (applied bool, err error) {
	if c, ok := cmd.(*redis.Cmd); ok && w.script != nil {
		return scriptApplied(c)
	}
	if err := cmd.Err(); err != nil {
		return false, err
	}
	return true, nil
}
