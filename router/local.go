package router

import (
	"context"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// Local returns the router of stage local: reads and writes go to local.
// Writes are versioned and deletes are mirrored to the distributed store off
// the request path, so that a session deleted after a rollback to local can
// never come back from an old distributed copy once the migration resumes.
//
// A local miss is still looked up in the distributed store (and the copy
// installed): after a rollback to local, a user re-pinned by a restart, or
// whose instance left complete, may have a session that lives only there.
// While the instance has never routed past local, a failure of the
// distributed store is a miss, as it was before the migration: local does
// not depend on Redis. Once it has (Core.MarkLocalPartial, and
// Core.ForgetLocal when it left complete), that is no longer so: a user
// re-pinned here from an instance that restarted, or whose session was
// written at complete, has a session that lives in the distributed store
// only, and a failure is returned rather than logging that user out. The
// price is that, while the distributed store is down, an id known to
// neither store (a stale cookie) gets the error too, as at every later
// stage.
func Local(c *Core) store.Store { return localRouter{c} }

type localRouter struct{ c *Core }

func (r localRouter) Get(ctx context.Context, id string) (store.Record, bool, error) {
	rec, found, err := r.c.local.Get(ctx, id)
	if err != nil || found {
		if found {
			r.c.observe(rec.Version)
		}
		return rec, found, err
	}
	rec, found, err = r.c.fetch(ctx, id)
	if err != nil {
		if r.c.partial.Load() {
			return store.Record{}, false, err
		}
		return store.Record{}, false, nil // counted as ReadThroughError
	}
	return rec, found, nil
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
