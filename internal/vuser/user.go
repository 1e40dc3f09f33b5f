package vuser

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// maxDead bounds the ended session ids one user remembers for probes and
// for the final checks.
const maxDead = 32

// user is one virtual user and its reference model: what the application
// acknowledged to it. Its fields other than the atomics belong to its
// goroutine until Load.Stop has waited for it.
type user struct {
	l    *Load
	idx  int
	name string
	rng  *rand.Rand

	sid       string    // current session id; "" when it has none
	counter   int64     // last counter acknowledged
	uncertain bool      // the last increment got no answer: counter or counter+1
	expires   time.Time // the session's expiry as last reported (zero: unknown)
	inst      int       // instance of the last request
	dead      []string  // ids logged out or rotated away, newest last

	requests atomic.Uint64
	stopped  atomic.Bool
}

// run loops until ctx ends or the request bound is reached: log in when
// there is no session, otherwise read (45%), increment (35%), rotate (7%),
// log out (5%) or re-read an ended session (8%), then pause.
func (u *user) run(ctx context.Context) {
	defer u.stopped.Store(true)
	think := u.l.cfg.Think
	timer := time.NewTimer(0)
	defer timer.Stop()
	for u.requests.Load() < uint64(u.l.cfg.MaxRequests) {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if u.sid == "" {
			u.login(ctx)
		} else {
			switch p := u.rng.IntN(100); {
			case p < 45:
				u.read(ctx)
			case p < 80:
				u.increment(ctx)
			case p < 87:
				u.rotate(ctx)
			case p < 92:
				u.logout(ctx)
			default:
				u.probe(ctx)
			}
		}
		timer.Reset(think/2 + time.Duration(u.rng.Int64N(int64(think))))
	}
}

// do sends one request through the balancer. counted is false when the
// load is stopping: the answer says nothing about the application, and
// nothing is counted.
func (u *user) do(ctx context.Context, op Op, sid string) (rep Reply, counted bool) {
	inst, ok := u.l.cfg.Balancer.Acquire(u.idx)
	start := time.Now()
	if ok {
		rctx, cancel := context.WithTimeout(ctx, u.l.cfg.RequestTimeout)
		rep = u.l.cfg.App.Do(rctx, Request{Instance: inst, Op: op, SID: sid, User: u.name})
		cancel()
		u.l.cfg.Balancer.Release(inst)
		u.inst = inst
	} else {
		rep = Reply{Outcome: Failed, Detail: "no instance is up"}
	}
	if u.l.stopping() {
		return rep, false
	}
	u.requests.Add(1)
	u.l.c.observe(time.Since(start))
	return rep, true
}

// problem counts one broken promise in n, described without any id.
func (u *user) problem(n *atomic.Uint64, format string, args ...any) {
	u.l.c.problem(n, fmt.Sprintf("t=%.2fs %s on instance %d: %s", u.l.age().Seconds(), u.name, u.inst, fmt.Sprintf(format, args...)))
}

// abandon forgets the current session without declaring it dead, after an
// operation whose outcome is unknown.
func (u *user) abandon() { u.sid, u.counter, u.uncertain, u.expires = "", 0, false, time.Time{} }

// bury remembers id as a session that must never be served again.
func (u *user) bury(id string) {
	if len(u.dead) == maxDead {
		u.dead = append(u.dead[:0], u.dead[1:]...)
	}
	u.dead = append(u.dead, id)
}

func (u *user) login(ctx context.Context) {
	rep, counted := u.do(ctx, Login, "")
	if !counted {
		return
	}
	switch {
	case rep.Outcome == OK && rep.SID != "" && rep.Session.User == u.name && rep.Session.Counter == 0:
		u.sid, u.counter, u.uncertain, u.expires = rep.SID, 0, false, rep.Session.Expires
		u.l.c.logins.Add(1)
	case rep.Outcome == OK:
		u.problem(&u.l.c.anomalies, "login: success without a session id, or with a foreign or used session")
	case rep.Outcome == Malformed:
		u.problem(&u.l.c.anomalies, "login: unreadable answer: %s", rep.Detail)
	default:
		u.problem(&u.l.c.failed, "login: %s", describe(rep))
	}
}

// live handles what every operation on a live session shares: it reports
// whether rep is a success to check further.
func (u *user) live(op Op, rep Reply) bool {
	switch rep.Outcome {
	case OK:
		return true
	case NoSession:
		u.problem(&u.l.c.logouts, "%s: no session, for a live one", op)
		u.abandon()
	case Malformed:
		u.problem(&u.l.c.anomalies, "%s: unreadable answer: %s", op, rep.Detail)
	default:
		u.problem(&u.l.c.failed, "%s: %s", op, rep.Detail)
	}
	return false
}

// check compares a served session with what the user knows. base is the
// counter the answer must show (counter, or counter+1 for an increment). A
// plausible answer becomes the user's counter; so does a lost write, so
// that one loss is counted once, not on every later read.
func (u *user) check(op Op, s Session, base int64) {
	hi := base
	if u.uncertain {
		hi++
	}
	switch {
	case s.User != u.name:
		u.problem(&u.l.c.anomalies, "%s: a foreign session", op)
		return
	case !u.expires.IsZero() && !s.Expires.IsZero() && !s.Expires.Equal(u.expires):
		u.problem(&u.l.c.anomalies, "%s: expiry moved by %v", op, s.Expires.Sub(u.expires))
		return
	case s.Counter > hi:
		u.problem(&u.l.c.anomalies, "%s: counter %d ahead of every write (at most %d)", op, s.Counter, hi)
		return
	case s.Counter < base:
		u.problem(&u.l.c.lostWrites, "%s: counter %d, acknowledged %d", op, s.Counter, base)
	}
	u.counter, u.uncertain = s.Counter, false
	if u.expires.IsZero() {
		u.expires = s.Expires
	}
}

func (u *user) read(ctx context.Context) {
	rep, counted := u.do(ctx, Read, u.sid)
	if counted && u.live(Read, rep) {
		u.check(Read, rep.Session, u.counter)
		u.l.c.reads.Add(1)
	}
}

func (u *user) increment(ctx context.Context) {
	rep, counted := u.do(ctx, Increment, u.sid)
	if !counted || rep.Outcome == Failed {
		u.uncertain = true // the write may have landed
	}
	if counted && u.live(Increment, rep) {
		u.check(Increment, rep.Session, u.counter+1)
		u.l.c.increments.Add(1)
	}
}

// rotate asks for a new id, then checks that the old one is dead.
func (u *user) rotate(ctx context.Context) {
	old := u.sid
	rep, counted := u.do(ctx, Rotate, old)
	if !counted {
		u.abandon()
		return
	}
	if !u.live(Rotate, rep) {
		u.abandon() // a failed rotation may or may not have ended the old id
		return
	}
	if rep.SID == "" || rep.SID == old {
		u.problem(&u.l.c.anomalies, "rotate: success without a new session id")
		u.abandon()
		return
	}
	// A renewed token may come with a new lifetime (scs's RenewToken).
	u.expires = rep.Session.Expires
	u.check(Rotate, rep.Session, u.counter)
	u.sid = rep.SID
	u.l.c.rotations.Add(1)
	u.bury(old)
	u.expectDead(ctx, "read after rotate", old)
}

// logout ends the session, checks that it is dead and leaves the user to
// log in again.
func (u *user) logout(ctx context.Context) {
	old := u.sid
	rep, counted := u.do(ctx, Logout, old)
	u.abandon()
	if !counted {
		return
	}
	switch rep.Outcome {
	case OK:
	case NoSession:
		u.problem(&u.l.c.logouts, "logout: no session, for a live one")
		return
	default:
		u.problem(&u.l.c.failed, "logout: %s", describe(rep))
		return
	}
	u.l.c.userLogouts.Add(1)
	u.bury(old)
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

func (u *user) expectDead(ctx context.Context, what, id string) {
	rep, counted := u.do(ctx, Read, id)
	switch {
	case !counted, rep.Outcome == NoSession:
	case rep.Outcome == Failed:
		u.problem(&u.l.c.failed, "%s: %s", what, rep.Detail)
	default:
		u.problem(&u.l.c.resurrections, "%s: the session is back", what)
	}
}

// describe names a reply that is not the expected success.
func describe(rep Reply) string {
	switch rep.Outcome {
	case NoSession:
		return "no session"
	case OK:
		return "success"
	}
	return rep.Detail
}
