package demo

import (
	"context"

	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
)

// faulty is the distributed store an instance's Migrator sees: the
// redisstore behind a faultstore, so that the demo can break Redis for the
// instance, plus the redisstore's batch write, which faultstore does not
// forward. Without it Backfill would fall back to one round trip per
// session.
type faulty struct {
	*faultstore.Store
	batch store.BatchSetter
}

var (
	_ store.Versioned   = faulty{}
	_ store.BatchSetter = faulty{}
)

// SetMany is the inner store's batch write while no fault is configured for
// Set, and one faulty Set per entry otherwise, so a batch fails exactly as
// its Sets would.
func (f faulty) SetMany(ctx context.Context, entries []store.Entry) ([]bool, error) {
	if f.Fault(faultstore.OpSet) == (faultstore.Fault{}) {
		return f.batch.SetMany(ctx, entries)
	}
	applied := make([]bool, len(entries))
	var first error
	for i, e := range entries {
		if err := f.Set(ctx, e.ID, e.Record); err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		applied[i] = true
	}
	return applied, first
}
