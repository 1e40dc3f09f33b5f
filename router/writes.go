package router

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// The write helpers several stages share. A request-path write is stamped
// once (version and absolute expiry), written to local first while local is
// the truth (until complete), then to the distributed store:
//
//   - shadow and local mark it for the async writer (setLocal + markSet,
//     deleteAsync);
//   - dual and ramp write the distributed store on the request path, ordered
//     by arrival (setBoth, deleteBoth), and track a failure for repair;
//   - complete writes the distributed store only (see complete.go).
//
// Copies (lazyCopy here, the writer's repairs, Backfill) are versioned
// compare-and-sets that never replace a newer write.

// ErrDeleteNotPropagated is wrapped by the error of a Delete that was applied
// to the local store but could neither reach the distributed store nor be
// tracked for a later retry (the unsynced set was full, see
// Config.MaxUnsynced): the session is gone from this instance, but the
// distributed store may still hold it.
var ErrDeleteNotPropagated = errors.New("router: delete applied locally but not to the distributed store")

// stamp assigns a version to a write and resolves a zero expiry to an
// absolute one, so that every copy of the record expires at the same instant.
// It returns the clock reading it judged the write by and whether rec has
// expired then (the write is a delete). Callers hand now to setLocal, so a
// write reads the clock once (on some virtual machines a read costs a sixth
// of a local Set) and the router and the local store agree on expiry. An
// expiry no store can keep is refused (store.ErrExpiry) before anything is
// written.
func (c *Core) stamp(rec *store.Record) (now time.Time, expired bool, err error) {
	if err := store.CheckExpiry(rec.ExpiresAt); err != nil {
		return time.Time{}, false, fmt.Errorf("router: set: %w", err)
	}
	now = c.now()
	rec.Version = c.clock.next(now)
	if rec.ExpiresAt.IsZero() {
		rec.ExpiresAt = now.Add(c.cfg.MaxTTL) // may still expire: MaxTTL < 1ms
	}
	return now, rec.Expired(now), nil
}

// setLocal writes rec to the local store as of now (the reading stamp
// returned), through store.SetterAt when the local store has it.
func (c *Core) setLocal(ctx context.Context, id string, rec store.Record, now time.Time) error {
	if c.localAt != nil {
		return c.localAt.SetAt(ctx, id, rec, now)
	}
	return c.local.Set(ctx, id, rec)
}

// setBoth writes local, then the distributed store under DistTimeout, by
// arrival: the distributed store keeps it above whatever version it holds
// (another instance's write with a faster clock), and local is brought to
// the version the distributed store chose, so both agree and the next write
// orders after it. A distributed failure tracks the session for repair
// instead of failing: local holds the write.
func (c *Core) setBoth(ctx context.Context, id string, rec store.Record) error {
	now, expired, err := c.stamp(&rec)
	if err != nil {
		return err
	}
	if expired {
		return c.deleteBoth(ctx, id, rec.Version)
	}
	if err := c.setLocal(ctx, id, rec, now); err != nil {
		return err
	}
	dctx, cancel := withTimeout(ctx, c.cfg.DistTimeout)
	v, err := c.latest.SetLatest(dctx, id, rec)
	cancel()
	if err != nil {
		c.obs.DistWriteFailed()
		c.markSet(id, rec.Version, false)
		return nil
	}
	if v != rec.Version {
		c.observe(v)
		rec.Version = v
		if err := c.setLocal(ctx, id, rec, now); err != nil {
			return err
		}
	}
	c.track.Clear(id, v)
	c.DistributedOK()
	return nil
}

// deleteBoth deletes from local, then from the distributed store with a
// tombstone above whatever it holds, under DistTimeout; a distributed failure
// tracks the delete.
func (c *Core) deleteBoth(ctx context.Context, id string, version uint64) error {
	tomb, known, err := c.deleteLocal(ctx, id, version)
	if err != nil {
		return err
	}
	until := time.Time{} // the distributed copy's own expiry
	if known {
		until = tomb.ExpiresAt
	}
	dctx, cancel := withTimeout(ctx, c.cfg.DistTimeout)
	v, err := c.latest.DeleteLatest(dctx, id, version, until, tomb.ExpiresAt)
	cancel()
	if err != nil {
		c.obs.DistWriteFailed()
		if !c.markDelete(id, version, tomb.ExpiresAt, false) {
			return c.deleteNow(ctx, id, tomb, err)
		}
		return nil
	}
	if v != version {
		c.observe(v)
		if err := c.local.DeleteVersion(ctx, id, v, tomb.ExpiresAt); err != nil {
			return err
		}
	}
	c.track.Clear(id, v)
	return nil
}

// deleteLocal deletes id from local at version and returns the tombstone it
// left, and whether its expiry is the session's own (local knew it) rather
// than TombstoneTTL from now.
func (c *Core) deleteLocal(ctx context.Context, id string, version uint64) (tomb store.Record, known bool, err error) {
	until, known := c.tombstoneUntil(ctx, id)
	tomb = store.Record{Version: version, ExpiresAt: until}
	return tomb, known, c.local.DeleteVersion(ctx, id, version, until)
}

// deleteAsync deletes from local now and from the distributed store off the
// request path. When the unsynced set has no room for it, the distributed
// delete is made now instead.
func (c *Core) deleteAsync(ctx context.Context, id string, version uint64) error {
	tomb, _, err := c.deleteLocal(ctx, id, version)
	if err != nil {
		return err
	}
	if !c.markDelete(id, tomb.Version, tomb.ExpiresAt, true) {
		return c.deleteNow(ctx, id, tomb, nil)
	}
	return nil
}

// deleteNow makes a delete the unsynced set had no room to track: one more
// try on the request path, and the caller's Delete fails if it fails too.
// prev is the error of an attempt already made, if any.
func (c *Core) deleteNow(ctx context.Context, id string, tomb store.Record, prev error) error {
	dctx, cancel := withTimeout(ctx, c.cfg.DistTimeout)
	err := c.dist.DeleteVersion(dctx, id, tomb.Version, tomb.ExpiresAt)
	cancel()
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w (unsynced set full, %d sessions): %w", ErrDeleteNotPropagated, c.track.Len(), errors.Join(prev, err))
}

// tombstoneUntil is when a delete's tombstone may go: the session's own
// expiry when local knows it (known true), else now + TombstoneTTL.
// Tombstones must outlive every older write that could still arrive, and no
// copy outlives the session's expiry.
func (c *Core) tombstoneUntil(ctx context.Context, id string) (until time.Time, known bool) {
	if rec, ok, err := c.local.Get(ctx, id); err == nil && ok && !rec.ExpiresAt.IsZero() {
		return rec.ExpiresAt, true
	}
	return c.now().Add(c.cfg.TombstoneTTL), false
}

// liveUntil returns until for a tombstone, or now+TombstoneTTL when until is
// zero or already past by the stores' millisecond rule (Record.Expired): a
// tombstone they would drop at once protects nothing.
func (c *Core) liveUntil(until time.Time) time.Time {
	if now := c.now(); until.IsZero() || (store.Record{ExpiresAt: until}).Expired(now) {
		return now.Add(c.cfg.TombstoneTTL)
	}
	return until
}

// lazyCopy copies a local session to the distributed store at its own
// version and expiry; a failure tracks it for repair.
func (c *Core) lazyCopy(ctx context.Context, id string, rec store.Record) {
	dctx, cancel := withTimeout(ctx, c.cfg.DistTimeout)
	cp := Copyable(rec)
	err := c.dist.Set(dctx, id, cp)
	cancel()
	c.obs.LazyCopy(err)
	if err != nil {
		c.markSet(id, rec.Version, false)
		return
	}
	c.RecheckCopy(ctx, id, cp)
}

// RecheckCopy is called once a copy of a local record (backfill, repair,
// reconciliation, lazy copy: copied, read from local earlier) was stored in
// the distributed store. Normally local still holds that version, or the
// compare-and-set refused the copy because the distributed store holds
// something newer. But a write or delete acknowledged on the request path
// between the read and the copy's arrival leaves the tracker nothing to do,
// and if the distributed store lost it meanwhile (FLUSHALL, a failover that
// drops acknowledged writes), the older copy lands: a logged-out session
// would be back. So when local has moved on, id is tracked again and the
// writer puts local's state over the copy: the newer record, or a
// tombstone at the delete's version (a tombstone at the copy's own version
// when local cannot say which), which removes the copy.
//
// The local reads ignore ctx's cancellation: the copy has landed, and a
// caller shutting down (the writer's own context, canceled by Close) must
// not mistake a canceled read for a local store that moved on.
func (c *Core) RecheckCopy(ctx context.Context, id string, copied store.Record) {
	ctx = context.WithoutCancel(ctx)
	cur, found, err := c.local.Get(ctx, id)
	if err == nil && found && Copyable(cur).Version == copied.Version {
		return
	}
	if err == nil && !found && c.localTomb != nil {
		if tv, dead, terr := c.localTomb.Tombstone(ctx, id); terr == nil && dead && tv >= copied.Version {
			c.MarkDeleted(id, tv, copied.ExpiresAt)
			return
		}
	}
	c.markSet(id, copied.Version, true)
}

// Copyable prepares a local record for a copy to the distributed store
// (repair, lazy copy, backfill). A record written before the Migrator
// existed has version 0, which stores treat as an unconditional write;
// copying it at version 1 keeps the copy a compare-and-set that every real
// write and tombstone wins.
func Copyable(rec store.Record) store.Record {
	if rec.Version == 0 {
		rec.Version = 1
	}
	return rec
}
