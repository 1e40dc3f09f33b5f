package consistency

import (
	"context"
	"fmt"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// readDist reads ids from the distributed store in one batch when it is a
// store.BatchGetter, else with one Get each (then tombstones are not seen).
// The read is bounded by timeout.
func readDist(ctx context.Context, d store.Store, timeout time.Duration, ids []string) ([]store.Lookup, error) {
	ctx, cancel := store.WithTimeout(ctx, timeout)
	defer cancel()
	if bg, ok := d.(store.BatchGetter); ok {
		out, err := bg.GetMany(ctx, ids)
		if err != nil {
			return nil, fmt.Errorf("consistency: reading the distributed store: %w", err)
		}
		if len(out) != len(ids) {
			return nil, fmt.Errorf("consistency: reading the distributed store: %d answers for %d ids", len(out), len(ids))
		}
		return out, nil
	}
	out := make([]store.Lookup, len(ids))
	for i, id := range ids {
		rec, found, err := d.Get(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("consistency: reading the distributed store: %w", err)
		}
		out[i] = store.Lookup{Record: rec, Found: found}
	}
	return out, nil
}

// readLocal reads ids from the local store, one Get each.
func readLocal(ctx context.Context, l store.Store, ids []string) ([]store.Record, []bool, error) {
	recs, found := make([]store.Record, len(ids)), make([]bool, len(ids))
	for i, id := range ids {
		var err error
		if recs[i], found[i], err = l.Get(ctx, id); err != nil {
			return nil, nil, fmt.Errorf("consistency: reading the local store: %w", err)
		}
	}
	return recs, found, nil
}
