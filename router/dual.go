package router

import (
	"context"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// Dual returns the router of stage dual: reads from local, every read
// compared against the distributed store off the request path; writes to
// both stores synchronously, the distributed one under DistTimeout. A failed
// distributed write is not the user's problem: the session is tracked,
// served from local, and repaired.
func Dual(c *Core) store.Store { return dualRouter{c} }

type dualRouter struct{ c *Core }

func (r dualRouter) Get(ctx context.Context, id string) (store.Record, bool, error) {
	rec, found, err := r.c.local.Get(ctx, id)
	if err == nil && r.c.cfg.Compare != nil {
		r.c.cfg.Compare.Offer(id, rec, found)
	}
	return rec, found, err
}

func (r dualRouter) Set(ctx context.Context, id string, rec store.Record) error {
	return r.c.setBoth(ctx, id, rec)
}

func (r dualRouter) Delete(ctx context.Context, id string) error {
	return r.c.deleteBoth(ctx, id, r.c.NextVersion())
}

// setBoth writes local, then the distributed store under DistTimeout; a
// distributed failure tracks the session for repair instead of failing.
func (c *Core) setBoth(ctx context.Context, id string, rec store.Record) error {
	now, expired := c.stamp(&rec)
	if expired {
		return c.deleteBoth(ctx, id, rec.Version)
	}
	if err := c.setLocal(ctx, id, rec, now); err != nil {
		return err
	}
	dctx, cancel := withTimeout(ctx, c.cfg.DistTimeout)
	err := c.dist.Set(dctx, id, rec)
	cancel()
	if err != nil {
		c.obs.DistWriteFailed()
		c.markSet(id, rec, false)
		return nil
	}
	c.track.Clear(id, rec.Version)
	c.DistributedOK()
	return nil
}

// deleteBoth deletes from local, then from the distributed store with a
// tombstone under DistTimeout; a distributed failure tracks the delete.
func (c *Core) deleteBoth(ctx context.Context, id string, version uint64) error {
	tomb, err := c.deleteLocal(ctx, id, version)
	if err != nil {
		return err
	}
	dctx, cancel := withTimeout(ctx, c.cfg.DistTimeout)
	err = c.dist.DeleteVersion(dctx, id, version, tomb.ExpiresAt)
	cancel()
	if err != nil {
		c.obs.DistWriteFailed()
		c.markDelete(id, version, tomb.ExpiresAt, false)
		return nil
	}
	c.track.Clear(id, version)
	return nil
}
