package router

import (
	"context"
	"fmt"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// readLocal reads id from local for a stage that serves reads from local
// (shadow, dual, the local side of ramp). A hit advances the version clock
// past the record; a miss is answered from the distributed store (fetch),
// because from shadow on a session may live there only: this instance
// restarted with a fresh local store, or its load balancer re-pinned the
// user here from an instance that went away.
func (c *Core) readLocal(ctx context.Context, id string) (store.Record, bool, error) {
	rec, found, err := c.local.Get(ctx, id)
	if err != nil || found {
		if found {
			c.observe(rec.Version)
		}
		return rec, found, err
	}
	return c.fetch(ctx, id)
}

// fetch answers a local miss from the distributed store and installs the
// copy into local at its version and expiry, so that dual writes keep both
// stores whole and later reads are local again.
//
// It does not serve the distributed copy when this instance deleted the
// session: it holds an unconfirmed delete (the tombstone has not reached the
// distributed store), the local store reports a tombstone
// (store.TombstoneReader), or local refuses the copy (it holds a newer
// tombstone).
// When the distributed store fails, fetch returns its error rather than
// "not found": a miss would log out a user whose session lives only there.
func (c *Core) fetch(ctx context.Context, id string) (store.Record, bool, error) {
	if e, ok := c.track.Lookup(id); ok && e.kind == opDelete {
		c.obs.ReadThrough(ReadThroughDeleted)
		return store.Record{}, false, nil
	}
	if c.localTomb != nil {
		// A session this instance deleted: no network needed, and the
		// answer cannot fail while the distributed store does.
		if _, deleted, err := c.localTomb.Tombstone(ctx, id); err == nil && deleted {
			c.obs.ReadThrough(ReadThroughDeleted)
			return store.Record{}, false, nil
		}
	}
	dctx, cancel := withTimeout(ctx, c.cfg.DistTimeout)
	drec, found, err := c.dist.Get(dctx, id)
	cancel()
	switch {
	case err != nil:
		c.obs.ReadThrough(ReadThroughError)
		return store.Record{}, false, fmt.Errorf("router: session not in the local store, and the distributed store failed: %w", err)
	case !found:
		c.obs.ReadThrough(ReadThroughMiss)
		return store.Record{}, false, nil
	}
	c.observe(drec.Version)
	install := Copyable(drec)
	if err := c.local.Set(ctx, id, install); err != nil {
		return store.Record{}, false, fmt.Errorf("router: installing a distributed copy locally: %w", err)
	}
	// memstore's Set does not say whether a tombstone refused the copy;
	// reading back does (and costs little next to the distributed read).
	if got, ok, err := c.local.Get(ctx, id); err == nil && (!ok || got.Version > install.Version) {
		if ok { // a newer local write raced the install
			c.obs.ReadThrough(ReadThroughFound)
			return got, true, nil
		}
		c.obs.ReadThrough(ReadThroughDeleted)
		return store.Record{}, false, nil
	}
	c.obs.ReadThrough(ReadThroughFound)
	return drec, true, nil
}
