package faultstore

import (
	"context"
	"errors"

	"github.com/sessionmigrate/sessionmigrate/store"
)

var _ store.BatchSetter = (*Store)(nil)

// SetMany applies entries under the faults configured for [OpSet]. While no
// fault and no FailNext is pending for OpSet, and the inner store is a
// [store.BatchSetter], the batch goes to the inner store in one call (counted
// as one OpSet call per entry, without the OnCall hook), so a Migrator's
// batched backfill keeps its round trips. Otherwise each entry is one [Set]
// through the faults, so a batch fails exactly as its Sets would; err joins
// the failures.
func (s *Store) SetMany(ctx context.Context, entries []store.Entry) ([]bool, error) {
	st := &s.ops[OpSet]
	if bs, ok := s.inner.(store.BatchSetter); ok && st.cfg.Load().Fault == (Fault{}) && st.failNext.Load() <= 0 {
		st.calls.Add(uint64(len(entries)))
		return bs.SetMany(ctx, entries)
	}
	applied := make([]bool, len(entries))
	var errs []error
	for i, e := range entries {
		if err := s.Set(ctx, e.ID, e.Record); err != nil {
			errs = append(errs, err)
			continue
		}
		applied[i] = true
	}
	return applied, errors.Join(errs...)
}
