package router

import (
	"context"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// Local returns the router of stage local: reads and writes go to local.
// Writes are versioned and deletes are mirrored to the distributed store off
// the request path, so that a session deleted after a rollback to local can
// never come back from an old distributed copy once the migration resumes.
// Local misses are not answered from the distributed store: before shadow it
// holds nothing of this migration, and after a rollback to local every
// session is in the local store of the instance its user is pinned to.
func Local(c *Core) store.Store { return localRouter{c} }

type localRouter struct{ c *Core }

func (r localRouter) Get(ctx context.Context, id string) (store.Record, bool, error) {
	rec, found, err := r.c.local.Get(ctx, id)
	if found {
		r.c.observe(rec.Version)
	}
	return rec, found, err
}

func (r localRouter) Set(ctx context.Context, id string, rec store.Record) error {
	now, expired, err := r.c.stamp(&rec)
	if err != nil {
		return err
	}
	if expired {
		return r.c.deleteAsync(ctx, id, rec.Version)
	}
	return r.c.setLocal(ctx, id, rec, now)
}

func (r localRouter) Delete(ctx context.Context, id string) error {
	return r.c.deleteAsync(ctx, id, r.c.NextVersion())
}
