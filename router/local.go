package router

import (
	"context"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// Local returns the router of stage local: reads and writes go to local.
// Writes are versioned and deletes are mirrored to the distributed store off
// the request path, so that a session deleted after a rollback to local can
// never come back from an old distributed copy once the migration resumes.
func Local(c *Core) store.Store { return localRouter{c} }

type localRouter struct{ c *Core }

func (r localRouter) Get(ctx context.Context, id string) (store.Record, bool, error) {
	return r.c.local.Get(ctx, id)
}

func (r localRouter) Set(ctx context.Context, id string, rec store.Record) error {
	now, expired := r.c.stamp(&rec)
	if expired {
		return r.c.deleteAsync(ctx, id, rec.Version)
	}
	return r.c.setLocal(ctx, id, rec, now)
}

func (r localRouter) Delete(ctx context.Context, id string) error {
	return r.c.deleteAsync(ctx, id, r.c.NextVersion())
}

// deleteLocal deletes id from local at version and returns the tombstone's
// expiry.
func (c *Core) deleteLocal(ctx context.Context, id string, version uint64) (store.Record, error) {
	tomb := store.Record{Version: version, ExpiresAt: c.tombstoneUntil(ctx, id)}
	return tomb, c.local.DeleteVersion(ctx, id, version, tomb.ExpiresAt)
}

// deleteAsync deletes from local now and from the distributed store off the
// request path.
func (c *Core) deleteAsync(ctx context.Context, id string, version uint64) error {
	tomb, err := c.deleteLocal(ctx, id, version)
	if err != nil {
		return err
	}
	c.markDelete(id, tomb.Version, tomb.ExpiresAt, true)
	return nil
}
