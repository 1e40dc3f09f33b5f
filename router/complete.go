package router

import (
	"context"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// Complete returns the router of stage complete: the distributed store
// serves every read and takes every write, and its errors reach the caller.
// Local is no longer written, but it is still read: a session tracked as
// unsynced, or whose local copy is newer (written before complete and never
// confirmed), is served from local and repaired; one still missing from the
// distributed store is lazily copied. Deletes also clear local so that a
// forced rollback cannot bring a logged-out session back.
func Complete(c *Core) store.Store { return completeRouter{c} }

type completeRouter struct{ c *Core }

// Get serves the newest of what it knows: the distributed copy, a local copy
// written before complete that the distributed store never confirmed, or a
// tracked delete the distributed store has not applied. Local is not written
// in complete, so unlike ramp it cannot be trusted to be the newest.
func (r completeRouter) Get(ctx context.Context, id string) (store.Record, bool, error) {
	c := r.c
	drec, dfound, err := c.dist.Get(ctx, id)
	if err != nil {
		return store.Record{}, false, err
	}
	lrec, lfound, lerr := c.local.Get(ctx, id)
	if lerr != nil {
		lfound = false
	}
	if e, ok := c.track.Lookup(id); ok && e.kind == opDelete &&
		(!dfound || e.version >= drec.Version) && (!lfound || e.version >= lrec.Version) {
		c.obs.Fallback(ReasonDirty)
		return store.Record{}, false, nil
	}
	switch {
	case lfound && (!dfound || lrec.Version > drec.Version):
		if dfound {
			c.obs.Fallback(ReasonStale)
			c.markSet(id, lrec, true)
		} else {
			c.obs.Fallback(ReasonMissing)
			c.lazyCopy(ctx, id, lrec)
		}
		return lrec, true, nil
	case dfound:
		return drec, true, nil
	default:
		return store.Record{}, false, nil
	}
}

func (r completeRouter) Set(ctx context.Context, id string, rec store.Record) error {
	c := r.c
	_, expired := c.stamp(&rec)
	if expired {
		return r.deleteVersion(ctx, id, rec.Version)
	}
	if err := c.dist.Set(ctx, id, rec); err != nil {
		return err
	}
	c.track.Clear(id, rec.Version)
	return nil
}

func (r completeRouter) Delete(ctx context.Context, id string) error {
	return r.deleteVersion(ctx, id, r.c.NextVersion())
}

func (r completeRouter) deleteVersion(ctx context.Context, id string, version uint64) error {
	c := r.c
	until := c.tombstoneUntil(ctx, id)
	if err := c.dist.DeleteVersion(ctx, id, version, until); err != nil {
		return err
	}
	c.track.Clear(id, version)
	return c.local.DeleteVersion(ctx, id, version, until)
}
