package router

import (
	"context"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// Dual returns the router of stage dual: reads from local, every read
// compared against the distributed store off the request path, and a local
// miss answered from the distributed store (see Core.readLocal; a miss both
// stores agree on is compared too, to catch a lost delete); writes to
// both stores synchronously, the distributed one under DistTimeout. A failed
// distributed write is not the user's problem: the session is tracked,
// served from local, and repaired.
func Dual(c *Core) store.Store { return dualRouter{c} }

type dualRouter struct{ c *Core }

func (r dualRouter) Get(ctx context.Context, id string) (store.Record, bool, error) {
	rec, found, err := r.c.local.Get(ctx, id)
	if err != nil {
		return rec, found, err
	}
	if !found {
		rec, found, err = r.c.fetch(ctx, id)
		if err == nil && !found && r.c.cfg.Compare != nil {
			// A session this instance deleted (or never had): the
			// distributed store must not hold it either; a copy there
			// is a lost delete the checker confirms and repairs.
			r.c.cfg.Compare.Offer(id, store.Record{}, false)
		}
		return rec, found, err
	}
	r.c.observe(rec.Version)
	if r.c.cfg.Compare != nil {
		r.c.cfg.Compare.Offer(id, rec, true)
	}
	return rec, true, nil
}

func (r dualRouter) Set(ctx context.Context, id string, rec store.Record) error {
	return r.c.setBoth(ctx, id, rec)
}

func (r dualRouter) Delete(ctx context.Context, id string) error {
	return r.c.deleteBoth(ctx, id, r.c.NextVersion())
}
