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
// A session local lacks is answered from the distributed store on either
// side of the cut (see Core.readLocal).
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
		return r.c.readLocal(ctx, id)
	}
	return r.c.routedGet(ctx, id)
}

func (r rampRouter) Set(ctx context.Context, id string, rec store.Record) error {
	return r.c.setBoth(ctx, id, rec)
}

func (r rampRouter) Delete(ctx context.Context, id string) error {
	return r.c.deleteBoth(ctx, id, r.c.NextVersion())
}

// deletedElsewhere reports whether the distributed store holds a tombstone
// at or above lrec's version, the local copy of id that it lacks: another instance
// deleted the session (a logout after the user was re-pinned) since this
// instance last wrote or read it. The stale local copy is then deleted at
// the tombstone's version instead of served and copied: serving it would
// bring back a logged-out session. Only stores that report tombstones
// (store.TombstoneReader: redisstore does) are asked; when the question
// fails, the local copy is served as before (the lazy copy is a
// compare-and-set, so it cannot resurrect the session in the distributed
// store).
func (c *Core) deletedElsewhere(ctx context.Context, id string, lrec store.Record) bool {
	if c.distTomb == nil {
		return false
	}
	dctx, cancel := withTimeout(ctx, c.cfg.DistTimeout)
	tv, dead, err := c.distTomb.Tombstone(dctx, id)
	cancel()
	if err != nil || !dead || tv < lrec.Version { // a delete wins a tie, as in the stores
		return false
	}
	c.observe(tv)
	until := lrec.ExpiresAt
	if until.IsZero() {
		until = c.liveUntil(until)
	}
	if err := c.local.DeleteVersion(ctx, id, tv, until); err != nil {
		return false
	}
	if _, found, err := c.local.Get(ctx, id); err != nil || found {
		return false // a write above the tombstone landed meanwhile: not deleted
	}
	c.obs.ReadThrough(ReadThroughDeleted)
	return true
}

// routedGet reads a session routed to the distributed store. Local is read
// first (it is in-process and cheap) because until complete it holds every
// write this instance acknowledged and so decides what the distributed
// answer may be trusted for: a distributed copy older than local is stale;
// a session the distributed store lacks needs a lazy copy. A session local
// lacks is fetched (installed locally, unless this instance holds an
// unconfirmed delete of it). A distributed error serves local.
func (c *Core) routedGet(ctx context.Context, id string) (store.Record, bool, error) {
	if c.track.Has(id) {
		c.obs.Fallback(ReasonDirty)
		return c.readLocal(ctx, id)
	}
	lrec, lfound, lerr := c.local.Get(ctx, id)
	if lerr == nil && !lfound {
		return c.fetch(ctx, id)
	}
	dctx, cancel := withTimeout(ctx, c.cfg.DistTimeout)
	drec, dfound, derr := c.dist.Get(dctx, id)
	cancel()
	switch {
	case derr != nil && lerr != nil:
		return store.Record{}, false, derr
	case derr != nil:
		c.obs.Fallback(ReasonError)
		c.observe(lrec.Version)
		return lrec, true, nil
	case lerr != nil:
		// Local cannot answer: the distributed copy is the best there is.
		if dfound {
			c.observe(drec.Version)
		}
		return drec, dfound, nil
	case !dfound:
		if c.deletedElsewhere(ctx, id, lrec) {
			return store.Record{}, false, nil
		}
		c.obs.Fallback(ReasonMissing)
		c.observe(lrec.Version)
		c.lazyCopy(ctx, id, lrec)
		return lrec, true, nil
	case drec.Version < lrec.Version:
		c.obs.Fallback(ReasonStale)
		c.observe(lrec.Version)
		c.markSet(id, lrec.Version, true)
		return lrec, true, nil
	default:
		c.observe(drec.Version)
		return drec, true, nil
	}
}
