package router

import (
	"context"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// Complete returns the router of stage complete: the distributed store
// serves every read and takes every write, and its errors reach the caller.
// Local is neither read nor written, except for sessions this instance still
// tracks as unsynced (a write made before complete that the distributed
// store never confirmed): those are served from local until their repair
// lands, unless the distributed store already holds something newer. Nothing
// else a local store kept from before complete is ever served again: another
// instance may have changed, expired or deleted the session since, and
// without stickiness any instance may take any request.
//
// Writes are ordered by their arrival at the distributed store
// (store.LatestWriter): instances with skewed clocks or different start
// times never lose a later write to an earlier one, and a delete takes
// effect (it fails with store.ErrContended only when other writers keep
// storing newer versions between its attempts).
func Complete(c *Core) store.Store { return completeRouter{c} }

type completeRouter struct{ c *Core }

func (r completeRouter) Get(ctx context.Context, id string) (store.Record, bool, error) {
	c := r.c
	e, tracked := c.track.Lookup(id)
	drec, dfound, err := c.dist.Get(ctx, id)
	if err == nil && dfound {
		c.observe(drec.Version)
	}
	if !tracked || (err == nil && dfound && drec.Version > e.version) {
		return drec, dfound, err
	}
	// This instance made a write of id the distributed store may lack.
	if e.kind == opDelete {
		c.obs.Fallback(ReasonDirty)
		return store.Record{}, false, nil
	}
	lrec, lfound, lerr := c.local.Get(ctx, id)
	if err == nil && !dfound && lerr == nil && lfound && c.deletedElsewhere(ctx, id, lrec) {
		return store.Record{}, false, nil // another instance deleted it after this write
	}
	if lerr == nil && lfound && (err != nil || !dfound || lrec.Version >= drec.Version) {
		c.obs.Fallback(ReasonDirty)
		return lrec, true, nil
	}
	return drec, dfound, err
}

func (r completeRouter) Set(ctx context.Context, id string, rec store.Record) error {
	c := r.c
	_, expired, err := c.stamp(&rec)
	if err != nil {
		return err
	}
	if expired {
		return r.deleteVersion(ctx, id, rec.Version)
	}
	v, err := c.latest.SetLatest(ctx, id, rec)
	if err != nil {
		return err
	}
	c.observe(v)
	c.track.Clear(id, v)
	return nil
}

func (r completeRouter) Delete(ctx context.Context, id string) error {
	return r.deleteVersion(ctx, id, r.c.NextVersion())
}

// deleteVersion leaves a tombstone above whatever the distributed store
// holds, until the session's own expiry there (TombstoneTTL when it holds
// no record).
func (r completeRouter) deleteVersion(ctx context.Context, id string, version uint64) error {
	c := r.c
	v, err := c.latest.DeleteLatest(ctx, id, version, time.Time{}, c.now().Add(c.cfg.TombstoneTTL))
	if err != nil {
		return err
	}
	c.observe(v)
	c.track.Clear(id, v)
	return nil
}
