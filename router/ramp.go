package router

import (
	"context"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// Ramp returns the router of stage ramp at percent: sessions whose bucket is
// below the cut read from the distributed store, the rest from local; every
// write goes to both stores, as in dual. A routed read falls back to local
// when the distributed store fails, when the session is tracked as unsynced,
// or when the distributed copy is older than local; a session missing from
// the distributed store is copied there from local (lazy copy) and served.
func Ramp(c *Core, percent float64) (store.Store, error) {
	cut, err := Cut(percent)
	if err != nil {
		return nil, err
	}
	return rampRouter{c: c, cut: cut}, nil
}

type rampRouter struct {
	c   *Core
	cut uint32
}

func (r rampRouter) Get(ctx context.Context, id string) (store.Record, bool, error) {
	if r.c.hash.Bucket(id) >= r.cut {
		return r.c.local.Get(ctx, id)
	}
	return r.c.routedGet(ctx, id)
}

func (r rampRouter) Set(ctx context.Context, id string, rec store.Record) error {
	return r.c.setBoth(ctx, id, rec)
}

func (r rampRouter) Delete(ctx context.Context, id string) error {
	return r.c.deleteBoth(ctx, id, r.c.NextVersion())
}

// routedGet reads a session routed to the distributed store. Local is read
// first (it is in-process and cheap) because until complete it holds every
// acknowledged write and so decides what the distributed answer may be
// trusted for: a session local does not have does not exist (a distributed
// copy would be a delete the distributed store lost: serving it would bring a
// logged-out session back); a distributed copy older than local is stale; a
// session the distributed store lacks needs a lazy copy. A distributed error
// serves local.
func (c *Core) routedGet(ctx context.Context, id string) (store.Record, bool, error) {
	if c.track.Has(id) {
		c.obs.Fallback(ReasonDirty)
		return c.local.Get(ctx, id)
	}
	lrec, lfound, lerr := c.local.Get(ctx, id)
	if lerr == nil && !lfound {
		return store.Record{}, false, nil
	}
	dctx, cancel := withTimeout(ctx, c.cfg.DistTimeout)
	drec, dfound, derr := c.dist.Get(dctx, id)
	cancel()
	switch {
	case derr != nil && lerr != nil:
		return store.Record{}, false, derr
	case derr != nil:
		c.obs.Fallback(ReasonError)
		return lrec, true, nil
	case lerr != nil:
		// Local cannot answer: the distributed copy is the best there is.
		return drec, dfound, nil
	case !dfound:
		c.obs.Fallback(ReasonMissing)
		c.lazyCopy(ctx, id, lrec)
		return lrec, true, nil
	case drec.Version < lrec.Version:
		c.obs.Fallback(ReasonStale)
		c.markSet(id, lrec, true)
		return lrec, true, nil
	default:
		return drec, true, nil
	}
}

// lazyCopy copies a local session to the distributed store at its own
// version and expiry; a failure tracks it for repair.
func (c *Core) lazyCopy(ctx context.Context, id string, rec store.Record) {
	dctx, cancel := withTimeout(ctx, c.cfg.DistTimeout)
	err := c.dist.Set(dctx, id, Copyable(rec))
	cancel()
	c.obs.LazyCopy(err)
	if err != nil {
		c.markSet(id, rec, false)
	}
}
