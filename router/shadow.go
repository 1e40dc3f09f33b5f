package router

import (
	"context"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// Shadow returns the router of stage shadow: reads from local, with a sample
// compared against the distributed store off the request path, and a local
// miss answered from the distributed store (see Core.readLocal); writes to
// local synchronously and to the distributed store through the bounded async
// writer, which drops (and counts) rather than block. A guard trip also lands
// here: the distributed store cannot slow or fail a request whose session
// this instance holds.
func Shadow(c *Core) store.Store { return shadowRouter{c} }

type shadowRouter struct{ c *Core }

func (r shadowRouter) Get(ctx context.Context, id string) (store.Record, bool, error) {
	rec, found, err := r.c.local.Get(ctx, id)
	if err != nil {
		return rec, found, err
	}
	if !found {
		rec, found, err = r.c.fetch(ctx, id)
		if err == nil && !found && r.c.cfg.Compare != nil && r.c.sample.Add(1)%uint64(r.c.cfg.ShadowSample) == 0 {
			r.c.cfg.Compare.Offer(id, store.Record{}, false)
		}
		return rec, found, err
	}
	r.c.observe(rec.Version)
	if r.c.cfg.Compare != nil && r.c.sample.Add(1)%uint64(r.c.cfg.ShadowSample) == 0 {
		r.c.cfg.Compare.Offer(id, rec, true)
	}
	return rec, true, nil
}

func (r shadowRouter) Set(ctx context.Context, id string, rec store.Record) error {
	now, expired, err := r.c.stamp(&rec)
	if err != nil {
		return err
	}
	if expired {
		return r.c.deleteAsync(ctx, id, rec.Version)
	}
	if err := r.c.setLocal(ctx, id, rec, now); err != nil {
		return err
	}
	r.c.markSet(id, rec.Version, true)
	return nil
}

func (r shadowRouter) Delete(ctx context.Context, id string) error {
	return r.c.deleteAsync(ctx, id, r.c.NextVersion())
}
