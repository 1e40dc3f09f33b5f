package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// Store is a session store in Redis. It implements [store.Store],
// [store.Versioned], [store.Scanner] and [store.BatchSetter] and is safe for
// concurrent use. It does not own its client: closing the client is the
// caller's job, and a Store needs no Close of its own (it starts no
// goroutines).
type Store struct {
	client  redis.UniversalClient
	opts    Options // defaults applied
	err     error   // set by New on invalid input; returned by every operation
	scripts scripts
	// prefixBraces: every data key has a brace, so every sidecar key takes
	// the slot-tag form (see recordKeys).
	prefixBraces bool
}

var (
	_ store.Store     = (*Store)(nil)
	_ store.Versioned = (*Store)(nil)
	_ store.Scanner   = (*Store)(nil)
)

// New returns a Store that keeps sessions in Redis through client: a
// *redis.Client (standalone, or sentinel-backed from redis.NewFailoverClient),
// a *redis.ClusterClient or a *redis.Ring. Zero fields of opts take the
// documented defaults.
//
// New never fails and never panics: when opts is invalid (see
// [Options.Validate]) or client is nil, every operation of the returned
// Store returns an error saying so, and [Store.Err] reports it at once.
// Callers that build Options from configuration should call Validate first.
//
// Create client with ContextTimeoutEnabled: true; otherwise go-redis ignores
// context deadlines on the socket and a call to an unresponsive server
// blocks for the client's ReadTimeout however short ctx or
// [Options.Timeout] is.
func New(client redis.UniversalClient, opts Options) *Store {
	s := &Store{client: client, opts: opts.withDefaults(), scripts: newScripts()}
	s.prefixBraces = strings.ContainsAny(s.opts.Prefix, "{}")
	s.err = opts.Validate()
	if s.err == nil && client == nil {
		s.err = errors.New("redisstore: nil client")
	}
	return s
}

// Err returns the error every operation fails with because New was given
// invalid input, or nil for a usable Store.
func (s *Store) Err() error { return s.err }

// Set stores rec under id: the data raw at Prefix+id with a PXAT expiry of
// rec.ExpiresAt truncated to the millisecond (a zero ExpiresAt means MaxTTL
// from now). An expiry not after now deletes the record and its sidecar
// instead of writing anything.
//
// With Version 0, Set overwrites unconditionally, a tombstone included,
// and writes the sidecar of version 0, so the stored version becomes 0.
// With a nonzero Version, Set is an atomic compare-and-set in a Lua script:
// it does nothing when a live record with a higher version or a tombstone
// with an equal or higher version is stored, and otherwise writes the data
// and its sidecar with the same expiry; a past expiry makes it a
// compare-and-delete that leaves no tombstone. A damaged sidecar makes a
// versioned Set fail with an error wrapping [store.ErrCorrupt], leaving
// both keys as they were.
func (s *Store) Set(ctx context.Context, id string, rec store.Record) error {
	const op = "set"
	if err := s.check(ctx, op); err != nil {
		return err
	}
	w := s.planSet(id, rec, s.opts.Now())
	if w.err != nil {
		return fmt.Errorf("redisstore: %s: %w", op, w.err)
	}
	cctx, cancel := s.bound(ctx)
	defer cancel()
	if _, err := w.run(cctx, s.client); err != nil {
		return opError(op, cctx, err)
	}
	return nil
}

// write is a planned Set: the one command that carries it out, or the
// reason it must not be sent.
type write struct {
	dataKey, sideKey string
	script           *script // nil means DEL both keys
	argv             [4]any  // the script's arguments, after its keys
	argc             int
	err              error // the record cannot be stored (expiry out of range)
}

// args are the script's arguments.
func (w *write) args() []any { return w.argv[:w.argc] }

// cmd is the command that runs w's script (see script.cmd).
func (w *write) cmd() []any {
	return append(w.script.cmd(w.dataKey, w.sideKey, w.argc), w.args()...)
}

// planSet decides how to carry out Set(id, rec) at now.
func (s *Store) planSet(id string, rec store.Record, now time.Time) write {
	if err := store.CheckExpiry(rec.ExpiresAt); err != nil {
		return write{err: err}
	}
	exp := rec.ExpiresAt
	if exp.IsZero() {
		exp = now.Add(s.opts.MaxTTL)
	}
	exp = exp.Truncate(time.Millisecond)
	past := !exp.After(now)
	w := write{}
	w.dataKey, w.sideKey = s.recordKeys(id)
	switch px := exp.UnixMilli(); {
	case rec.Version == 0 && past:
	case rec.Version == 0:
		w.script = s.scripts.set
		w.argv, w.argc = [4]any{rec.Data, px, recordSidecar(0, px, s.opts.LegacySidecars)}, 3
	case past:
		w.script = s.scripts.setVersioned
		w.argv, w.argc = [4]any{"", rec.Version, "", ""}, 4
	default:
		w.script = s.scripts.setVersioned
		w.argv, w.argc = [4]any{rec.Data, rec.Version, px, recordSidecar(rec.Version, px, s.opts.LegacySidecars)}, 4
	}
	return w
}

// run carries out w through c, reporting whether it wrote (false when a
// versioned Set was ignored).
func (w *write) run(ctx context.Context, c redis.UniversalClient) (applied bool, err error) {
	if w.script == nil {
		return true, c.Del(ctx, w.dataKey, w.sideKey).Err()
	}
	return scriptApplied(w.script.run(ctx, c, w.cmd()))
}

// Delete removes the record under id and its sidecar (version or
// tombstone) in one DEL. A missing id is not an error.
func (s *Store) Delete(ctx context.Context, id string) error {
	const op = "delete"
	if err := s.check(ctx, op); err != nil {
		return err
	}
	dataKey, sideKey := s.recordKeys(id)
	cctx, cancel := s.bound(ctx)
	defer cancel()
	if err := s.client.Del(cctx, dataKey, sideKey).Err(); err != nil {
		return opError(op, cctx, err)
	}
	return nil
}

// DeleteVersion removes the record under id unless a live record or a
// tombstone with a higher version is stored, and then leaves a tombstone at
// version in the sidecar, expiring at until truncated to the millisecond (a
// zero until means MaxTTL from now). An until not after now removes the
// record and any tombstone and leaves none. It runs as one Lua script; a
// damaged sidecar makes it fail with an error wrapping [store.ErrCorrupt].
func (s *Store) DeleteVersion(ctx context.Context, id string, version uint64, until time.Time) error {
	const op = "delete version"
	if err := s.check(ctx, op); err != nil {
		return err
	}
	if err := store.CheckExpiry(until); err != nil {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	now := s.opts.Now()
	if until.IsZero() {
		until = now.Add(s.opts.MaxTTL)
	}
	until = until.Truncate(time.Millisecond)
	var pxat any = ""
	if until.After(now) {
		pxat = until.UnixMilli()
	}
	dataKey, sideKey := s.recordKeys(id)
	cctx, cancel := s.bound(ctx)
	defer cancel()
	sc := s.scripts.deleteVersion
	_, err := scriptApplied(sc.run(cctx, s.client, append(sc.cmd(dataKey, sideKey, 2), version, pxat)))
	if err != nil {
		return opError(op, cctx, err)
	}
	return nil
}

// check fails fast for a Store built from invalid input and for a context
// that has already ended (go-redis would otherwise send the command on an
// idle connection regardless).
func (s *Store) check(ctx context.Context, op string) error {
	if s.err != nil {
		return fmt.Errorf("redisstore: %s: %w", op, s.err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	return nil
}

// bound returns ctx limited to Options.Timeout, unless ctx already ends
// sooner.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= s.opts.Timeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.opts.Timeout)
}

// opError wraps a failed call. When the call's context has ended or its
// deadline has passed, the error also wraps the context's error, so callers
// can tell a timeout with errors.Is(err, context.DeadlineExceeded): with
// ContextTimeoutEnabled go-redis reports the socket deadline as a network
// timeout, possibly a moment before the context itself is marked done.
func opError(op string, ctx context.Context, err error) error {
	cerr := ctx.Err()
	if cerr == nil {
		if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			cerr = context.DeadlineExceeded
		}
	}
	if cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("redisstore: %s: %w: %w", op, err, cerr)
	}
	return fmt.Errorf("redisstore: %s: %w", op, err)
}

// scriptApplied reads a write script's result code: whether it wrote, or
// the error (a damaged sidecar wraps store.ErrCorrupt).
func scriptApplied(cmd *redis.Cmd) (bool, error) {
	res, err := cmd.Int64()
	if err != nil {
		return false, err
	}
	switch res {
	case resultApplied:
		return true, nil
	case resultSkipped:
		return false, nil
	case resultCorrupt:
		return false, fmt.Errorf("%w: version sidecar does not decode; nothing written", store.ErrCorrupt)
	default:
		return false, fmt.Errorf("unexpected script result %d", res)
	}
}
