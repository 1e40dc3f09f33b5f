package scsstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// ErrNotIterable is returned by All and AllCtx when the wrapped store
// cannot list its sessions (it does not implement store.Scanner).
var ErrNotIterable = errors.New("scsstore: the wrapped store cannot list sessions (it does not implement store.Scanner)")

// Store is an scs session store over a store.Store. It holds no state of
// its own and is safe for concurrent use as far as the wrapped store is
// (a Migrator is).
type Store struct {
	s store.Store
}

var (
	_ scs.Store            = (*Store)(nil)
	_ scs.CtxStore         = (*Store)(nil)
	_ scs.IterableStore    = (*Store)(nil)
	_ scs.IterableCtxStore = (*Store)(nil)
)

// New returns an scs store that keeps sessions in s, usually a
// *migrate.Migrator. s must not be nil.
func New(s store.Store) *Store {
	return &Store{s: s}
}

// FindCtx returns the data of the session token. A token that was never
// committed, has expired, or was deleted returns found == false with a nil
// error; err is non-nil only when the store could not answer. b belongs to
// the caller.
func (s *Store) FindCtx(ctx context.Context, token string) (b []byte, found bool, err error) {
	rec, found, err := s.s.Get(ctx, token)
	if err != nil {
		return nil, false, fmt.Errorf("scsstore: find: %w", err)
	}
	if !found {
		return nil, false, nil
	}
	return rec.Data, true, nil
}

// CommitCtx stores b under token until the absolute expiry, replacing the
// data and expiry of a session already stored under token. An expiry in
// the past stores nothing and removes the session (it could never be found
// again); a zero expiry, which scs never passes, gets the wrapped store's
// maximum lifetime. The store keeps the expiry to the millisecond. The
// store copies b or never modifies it; the caller may reuse it.
func (s *Store) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	if err := s.s.Set(ctx, token, store.Record{Data: b, ExpiresAt: expiry}); err != nil {
		return fmt.Errorf("scsstore: commit: %w", err)
	}
	return nil
}

// DeleteCtx removes the session token; a token that does not exist is not
// an error. Behind a Migrator the delete leaves tombstones, so no copy of
// the session can bring it back.
func (s *Store) DeleteCtx(ctx context.Context, token string) error {
	if err := s.s.Delete(ctx, token); err != nil {
		return fmt.Errorf("scsstore: delete: %w", err)
	}
	return nil
}

// AllCtx returns the data of every live session keyed by token, each once;
// an empty, non-nil map when there is none. It needs the wrapped store to
// implement store.Scanner (a Migrator does, over memstore and redisstore)
// and returns an error wrapping [ErrNotIterable] otherwise. A scan that
// fails part-way returns a nil map and the error, never a partial listing.
func (s *Store) AllCtx(ctx context.Context) (map[string][]byte, error) {
	sc, ok := s.s.(store.Scanner)
	if !ok {
		return nil, fmt.Errorf("%w: %T", ErrNotIterable, s.s)
	}
	out := make(map[string][]byte)
	err := sc.Scan(ctx, func(id string, rec store.Record) error {
		out[id] = rec.Data
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scsstore: all: %w", err)
	}
	return out, nil
}

// Find is FindCtx with context.Background().
func (s *Store) Find(token string) (b []byte, found bool, err error) {
	return s.FindCtx(context.Background(), token)
}

// Commit is CommitCtx with context.Background().
func (s *Store) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// Delete is DeleteCtx with context.Background().
func (s *Store) Delete(token string) error {
	return s.DeleteCtx(context.Background(), token)
}

// All is AllCtx with context.Background().
func (s *Store) All() (map[string][]byte, error) {
	return s.AllCtx(context.Background())
}
