package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sessionmigrate/sessionmigrate/redact"
)

// maxDead bounds the dead ids a user remembers for probes and the report.
const maxDead = 32

// appSession is sessionapp's session as its endpoints return it.
type appSession struct {
	User    string `json:"u"`
	Counter int64  `json:"n"`
}

// user is one virtual user. Its fields other than the atomics belong to its
// goroutine until Load.Stop has waited for it.
type user struct {
	l    *Load
	name string
	base string
	rng  *rand.Rand

	sid       string // current session id; "" when it has none
	counter   int64  // last counter acknowledged
	uncertain bool   // the last increment got no answer: counter or counter+1
	dead      []string

	requests atomic.Uint64
	stopped  atomic.Bool
}

// run loops until ctx ends or the request bound is reached: log in when
// there is no session, otherwise one operation chosen at random, then a
// think pause.
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
				u.get(ctx)
			case p < 85:
				u.incr(ctx)
			case p < 90:
				u.rotate(ctx)
			case p < 95:
				u.logout(ctx)
			default:
				u.probe(ctx)
			}
		}
		timer.Reset(think/2 + time.Duration(u.rng.Int64N(int64(think))))
	}
}

// answer is one HTTP response, as far as the checks need it.
type answer struct {
	status int
	sess   appSession
	sid    string // the sid cookie set by the response, if any
	bodyOK bool   // a 200 body decoded as a session
}

// call makes one request with sid as the session cookie ("" for none). An
// error is a transport failure or timeout; it is counted as a failed
// request here, unless ctx ended (the load is stopping).
func (u *user) call(ctx context.Context, method, path, sid string, form url.Values) (answer, bool) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u.base+path, body)
	if err != nil {
		u.l.c.problem(&u.l.c.anomalies, "%s %s: building request: %v", method, path, err)
		return answer{}, false
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if sid != "" {
		req.AddCookie(&http.Cookie{Name: "sid", Value: sid})
	}
	start := time.Now()
	resp, err := u.l.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return answer{}, false
		}
		u.requests.Add(1)
		u.l.c.observe(time.Since(start))
		u.problemf(&u.l.c.failed, "%s %s: %v", method, path, redactErr(err, sid))
		return answer{}, false
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	u.requests.Add(1)
	u.l.c.observe(time.Since(start))
	if err != nil {
		u.problemf(&u.l.c.failed, "%s %s: reading body: %v", method, path, err)
		return answer{}, false
	}
	a := answer{status: resp.StatusCode}
	for _, c := range resp.Cookies() {
		if c.Name == "sid" && c.Value != "" {
			a.sid = c.Value
		}
	}
	if a.status == http.StatusOK {
		a.bodyOK = json.Unmarshal(raw, &a.sess) == nil
	}
	return a, true
}

// problemf records a problem of this user, stamped with the load's age.
func (u *user) problemf(n *atomic.Uint64, format string, args ...any) {
	at := time.Since(u.l.start).Seconds()
	u.l.c.problem(n, "t=%.2fs %s on %s: %s", at, u.name, u.base, fmt.Sprintf(format, args...))
}

// redactErr returns err's text with the session id, should a URL or
// header ever carry it, replaced by its redacted form.
func redactErr(err error, sid string) string {
	return redact.Text(err.Error(), "e2e", sid)
}

// abandon forgets the current session without declaring it dead: used when
// the outcome of a request that may have changed it is unknown.
func (u *user) abandon() { u.sid, u.counter, u.uncertain = "", 0, false }

// bury remembers id as a session that must never be served again.
func (u *user) bury(id string) {
	if len(u.dead) == maxDead {
		copy(u.dead, u.dead[1:])
		u.dead = u.dead[:maxDead-1]
	}
	u.dead = append(u.dead, id)
}

func (u *user) login(ctx context.Context) {
	a, ok := u.call(ctx, http.MethodPost, "/login", "", url.Values{"user": {u.name}})
	switch {
	case !ok:
	case a.status != http.StatusOK:
		u.problemf(&u.l.c.failed, "POST /login: status %d", a.status)
	case a.sid == "" || !a.bodyOK || a.sess.User != u.name:
		u.problemf(&u.l.c.anomalies, "POST /login: 200 without a sid cookie or with a foreign body")
	default:
		u.sid, u.counter, u.uncertain = a.sid, 0, false
		u.l.c.logins.Add(1)
	}
}

// checkCounter compares a served counter with what the user knows. base is
// the counter the answer must show (counter, or counter+1 for an
// increment). A plausible answer becomes the user's counter; so does a lost
// write, so that one loss is counted once, not on every later read.
func (u *user) checkCounter(op string, a answer, base int64) {
	hi := base
	if u.uncertain {
		hi++
	}
	switch n := a.sess.Counter; {
	case !a.bodyOK || a.sess.User != u.name:
		u.problemf(&u.l.c.anomalies, "%s: 200 with an undecodable or foreign session", op)
		return
	case n > hi:
		u.problemf(&u.l.c.anomalies, "%s: counter %d ahead of every write (at most %d)", op, n, hi)
		return
	case n < base:
		u.problemf(&u.l.c.lostWrites, "%s: counter %d, acknowledged %d", op, n, base)
	}
	u.counter, u.uncertain = a.sess.Counter, false
}

// live handles the answers every operation on a live session shares: it
// reports whether the answer is a 200 to check further.
func (u *user) live(op string, a answer) bool {
	switch a.status {
	case http.StatusOK:
		return true
	case http.StatusUnauthorized:
		u.problemf(&u.l.c.logouts, "%s: 401 for a live session", op)
		u.abandon()
	default:
		u.problemf(&u.l.c.failed, "%s: status %d", op, a.status)
	}
	return false
}

func (u *user) get(ctx context.Context) {
	a, ok := u.call(ctx, http.MethodGet, "/session", u.sid, nil)
	if ok && u.live("GET /session", a) {
		u.checkCounter("GET /session", a, u.counter)
	}
}

func (u *user) incr(ctx context.Context) {
	a, ok := u.call(ctx, http.MethodPost, "/incr", u.sid, nil)
	if !ok {
		u.uncertain = true
		return
	}
	if a.status >= 500 {
		u.uncertain = true
	}
	if u.live("POST /incr", a) {
		u.checkCounter("POST /incr", a, u.counter+1)
		u.l.c.increments.Add(1)
	}
}

// rotate asks for a new id, then checks the old one is dead.
func (u *user) rotate(ctx context.Context) {
	old := u.sid
	a, ok := u.call(ctx, http.MethodPost, "/rotate", old, nil)
	if !ok {
		u.abandon()
		return
	}
	if !u.live("POST /rotate", a) {
		if a.status != http.StatusUnauthorized {
			u.abandon()
		}
		return
	}
	u.checkCounter("POST /rotate", a, u.counter)
	if a.sid == "" || a.sid == old {
		u.problemf(&u.l.c.anomalies, "POST /rotate: 200 without a new sid cookie")
		u.abandon()
		return
	}
	u.sid = a.sid
	u.l.c.rotations.Add(1)
	u.bury(old)
	u.expectDead(ctx, "GET /session after rotate", old)
}

// logout ends the session, checks it is dead and leaves the user to log in
// again.
func (u *user) logout(ctx context.Context) {
	old := u.sid
	a, ok := u.call(ctx, http.MethodPost, "/logout", old, nil)
	if !ok {
		u.abandon()
		return
	}
	if a.status != http.StatusNoContent {
		u.problemf(&u.l.c.failed, "POST /logout: status %d", a.status)
		u.abandon()
		return
	}
	u.abandon()
	u.l.c.userLogouts.Add(1)
	u.bury(old)
	u.expectDead(ctx, "GET /session after logout", old)
}

// probe re-reads a session that died earlier: it must still be dead, after
// whatever stage changes, async writes and repairs happened since.
func (u *user) probe(ctx context.Context) {
	if len(u.dead) == 0 {
		u.get(ctx)
		return
	}
	u.l.c.probes.Add(1)
	u.expectDead(ctx, "GET /session of an earlier dead session", u.dead[u.rng.IntN(len(u.dead))])
}

func (u *user) expectDead(ctx context.Context, op, id string) {
	a, ok := u.call(ctx, http.MethodGet, "/session", id, nil)
	switch {
	case !ok:
	case a.status == http.StatusUnauthorized:
	case a.status == http.StatusOK:
		u.problemf(&u.l.c.resurrections, "%s: 200 for a dead session", op)
	default:
		u.problemf(&u.l.c.failed, "%s: status %d", op, a.status)
	}
}
