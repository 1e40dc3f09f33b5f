package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// maxDead bounds the ended session ids one user remembers for probes and
// for the final check.
const maxDead = 16

// requestTimeout bounds one user operation, as an HTTP server's handler
// timeout would.
const requestTimeout = 2 * time.Second

// user is one virtual user pinned to one instance's session store. Its
// fields belong to its goroutine until the load has stopped.
type user struct {
	l    *load
	name string
	inst int
	s    store.Store
	rng  *rand.Rand

	sid       string    // current session id; "" when logged out
	counter   int64     // last counter acknowledged
	uncertain bool      // the last increment failed: the stored counter is counter or counter+1
	expires   time.Time // the session's absolute expiry, fixed at login
	dead      []string  // ids logged out or rotated away, newest last
}

// run performs operations until ctx ends or the request bound is reached:
// log in when there is no session, otherwise read (45%), increment (35%),
// rotate (7%), log out (5%) or re-read a dead session (8%).
func (u *user) run(ctx context.Context) {
	think := u.l.cfg.think
	timer := time.NewTimer(0)
	defer timer.Stop()
	for n := 0; n < u.l.cfg.maxRequests; n++ {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		start := time.Now()
		if !u.step(ctx) {
			return
		}
		u.l.c.observe(time.Since(start))
		pause := think / 2
		if think > 0 {
			pause += time.Duration(u.rng.Int64N(int64(think)))
		}
		timer.Reset(pause)
	}
}

// step performs one operation; false means the load is stopping and the
// operation's outcome is not counted.
func (u *user) step(ctx context.Context) bool {
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	if u.sid == "" {
		u.login(rctx)
		return ctx.Err() == nil
	}
	switch p := u.rng.IntN(100); {
	case p < 45:
		u.read(rctx)
	case p < 80:
		u.increment(rctx)
	case p < 87:
		u.rotate(rctx)
	case p < 92:
		u.logout(rctx)
	default:
		u.probe(rctx)
	}
	return ctx.Err() == nil
}

// problem counts one broken promise and describes it (never with an id).
// Nothing is counted once the load is stopping: an operation cut short by
// the stop says nothing about the stores.
func (u *user) problem(kind *atomic.Uint64, format string, args ...any) {
	if u.l.ctx.Err() != nil {
		return
	}
	u.l.c.problem(kind, fmt.Sprintf("t=%.2fs %s on app-%d: %s", time.Since(u.l.start).Seconds(), u.name, u.inst+1, fmt.Sprintf(format, args...)))
}

// abandon forgets the current session without declaring it dead, after an
// operation whose outcome is unknown.
func (u *user) abandon() { u.sid, u.counter, u.uncertain = "", 0, false }

// bury remembers id as a session that must never be served again.
func (u *user) bury(id string) {
	if len(u.dead) == maxDead {
		u.dead = append(u.dead[:0], u.dead[1:]...)
	}
	u.dead = append(u.dead, id)
}

func (u *user) login(ctx context.Context) {
	id, exp := newSessionID(), expiryFrom(time.Now())
	if err := u.s.Set(ctx, id, store.Record{Data: session{User: u.name}.encode(), ExpiresAt: exp}); err != nil {
		u.problem(&u.l.c.failed, "login: %v", err)
		return
	}
	u.sid, u.counter, u.uncertain, u.expires = id, 0, false, exp
	u.l.c.logins.Add(1)
}

// load reads the current session and checks it against what the user
// knows; ok is false when the operation cannot go on (already counted).
func (u *user) load(ctx context.Context, op string) (session, bool) {
	rec, found, err := u.s.Get(ctx, u.sid)
	switch {
	case err != nil:
		u.problem(&u.l.c.failed, "%s: %v", op, err)
		return session{}, false
	case !found:
		u.problem(&u.l.c.logouts, "%s: a live session was not found", op)
		u.abandon()
		return session{}, false
	}
	s, err := decodeSession(rec.Data)
	switch {
	case err != nil || s.User != u.name:
		u.problem(&u.l.c.failed, "%s: undecodable or foreign session data", op)
		return session{}, false
	case !rec.ExpiresAt.Equal(u.expires):
		u.problem(&u.l.c.failed, "%s: expiry moved by %v", op, rec.ExpiresAt.Sub(u.expires))
		return session{}, false
	}
	hi := u.counter
	if u.uncertain {
		hi++
	}
	switch {
	case s.Counter > hi:
		u.problem(&u.l.c.failed, "%s: counter %d is ahead of every write (at most %d)", op, s.Counter, hi)
		return session{}, false
	case s.Counter < u.counter:
		// Counted once: the user goes on from what the store says.
		u.problem(&u.l.c.lostWrites, "%s: counter %d, but %d was acknowledged", op, s.Counter, u.counter)
	}
	u.counter, u.uncertain = s.Counter, false
	return s, true
}

func (u *user) read(ctx context.Context) {
	if _, ok := u.load(ctx, "read"); ok {
		u.l.c.reads.Add(1)
	}
}

func (u *user) increment(ctx context.Context) {
	s, ok := u.load(ctx, "increment")
	if !ok {
		return
	}
	s.Counter++
	if err := u.s.Set(ctx, u.sid, store.Record{Data: s.encode(), ExpiresAt: u.expires}); err != nil {
		u.problem(&u.l.c.failed, "increment: %v", err)
		u.uncertain = true
		return
	}
	u.counter = s.Counter
	u.l.c.increments.Add(1)
}

// rotate moves the session to a new id (as after a privilege change),
// deletes the old one and checks that it is gone.
func (u *user) rotate(ctx context.Context) {
	s, ok := u.load(ctx, "rotate")
	if !ok {
		return
	}
	old, id := u.sid, newSessionID()
	if err := u.s.Delete(ctx, old); err != nil {
		u.problem(&u.l.c.failed, "rotate: delete: %v", err)
		u.abandon()
		return
	}
	u.bury(old)
	if err := u.s.Set(ctx, id, store.Record{Data: s.encode(), ExpiresAt: u.expires}); err != nil {
		u.problem(&u.l.c.failed, "rotate: %v", err)
		u.abandon()
		return
	}
	u.sid = id
	u.l.c.rotations.Add(1)
	u.expectDead(ctx, "read of the rotated-away session", old)
}

func (u *user) logout(ctx context.Context) {
	old := u.sid
	if err := u.s.Delete(ctx, old); err != nil {
		u.problem(&u.l.c.failed, "logout: %v", err)
		u.abandon()
		return
	}
	u.abandon()
	u.bury(old)
	u.l.c.userLogouts.Add(1)
	u.expectDead(ctx, "read after logout", old)
}

// probe re-reads a session that ended earlier: whatever stage changes,
// async writes, repairs and backfills happened since, it must stay dead.
func (u *user) probe(ctx context.Context) {
	if len(u.dead) == 0 {
		u.read(ctx)
		return
	}
	u.l.c.probes.Add(1)
	u.expectDead(ctx, "re-read of an ended session", u.dead[u.rng.IntN(len(u.dead))])
}

func (u *user) expectDead(ctx context.Context, op, id string) {
	_, found, err := u.s.Get(ctx, id)
	switch {
	case err != nil:
		u.problem(&u.l.c.failed, "%s: %v", op, err)
	case found:
		u.problem(&u.l.c.resurrections, "%s: the session is back", op)
	}
}
