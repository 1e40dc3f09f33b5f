package faultstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

var _ store.LatestWriter = (*Store)(nil)

// SetLatest forwards to the inner store's SetLatest under the faults
// configured for [OpSet]: a request-path write is a set, whatever its
// ordering rule. A dropped call returns rec.Version as if it had been stored.
// If the inner store is not a [store.LatestWriter], SetLatest returns an
// error wrapping [errors.ErrUnsupported] without counting a call.
func (s *Store) SetLatest(ctx context.Context, id string, rec store.Record) (uint64, error) {
	lw, ok := s.inner.(store.LatestWriter)
	if !ok {
		return 0, fmt.Errorf("faultstore: set latest: inner %T is not a store.LatestWriter: %w", s.inner, errors.ErrUnsupported)
	}
	v := rec.Version
	err := s.do(ctx, OpSet, id, func() error {
		var err error
		v, err = lw.SetLatest(ctx, id, rec)
		return err
	})
	if err != nil {
		return 0, err
	}
	return v, nil
}

// DeleteLatest forwards to the inner store's DeleteLatest under the faults
// configured for [OpDeleteVersion]. A dropped call returns version as if it
// had been stored. If the inner store is not a [store.LatestWriter], it
// returns an error wrapping [errors.ErrUnsupported] without counting a call.
func (s *Store) DeleteLatest(ctx context.Context, id string, version uint64, until, fallback time.Time) (uint64, error) {
	lw, ok := s.inner.(store.LatestWriter)
	if !ok {
		return 0, fmt.Errorf("faultstore: delete latest: inner %T is not a store.LatestWriter: %w", s.inner, errors.ErrUnsupported)
	}
	v := version
	err := s.do(ctx, OpDeleteVersion, id, func() error {
		var err error
		v, err = lw.DeleteLatest(ctx, id, version, until, fallback)
		return err
	})
	if err != nil {
		return 0, err
	}
	return v, nil
}

var _ store.TombstoneReader = (*Store)(nil)

// Tombstone forwards to the inner store's Tombstone under the faults
// configured for [OpGet]: it is a read. A dropped call, or an inner store
// that is not a [store.TombstoneReader], reports no tombstone.
func (s *Store) Tombstone(ctx context.Context, id string) (uint64, bool, error) {
	tr, ok := s.inner.(store.TombstoneReader)
	if !ok {
		return 0, false, nil
	}
	var (
		v     uint64
		found bool
	)
	err := s.do(ctx, OpGet, id, func() error {
		var err error
		v, found, err = tr.Tombstone(ctx, id)
		return err
	})
	if err != nil {
		return 0, false, err
	}
	return v, found, nil
}
