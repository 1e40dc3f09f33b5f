package vuser

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Result is what a Load observed. Failed, Logouts, LostWrites,
// Resurrections and Anomalies are broken promises; a clean run has them
// all at zero ([Result.Clean]).
type Result struct {
	// Requests counts every request made (including failed ones).
	Requests uint64
	// Failed counts error answers, requests with no answer and requests
	// no instance could take.
	Failed uint64
	// Logouts counts "no session" answers for a session that should be
	// live: a user logged out by the migration.
	Logouts uint64
	// LostWrites counts answers whose counter is below the last one
	// acknowledged to the user. One lost write is counted once.
	LostWrites uint64
	// Resurrections counts answers that served a session the user logged
	// out or rotated away.
	Resurrections uint64
	// Anomalies counts answers that make no sense otherwise: a counter
	// ahead of every write, a foreign or undecodable session, a moved
	// expiry, a login or rotation without a new session id.
	Anomalies uint64

	// Logins, Reads, Increments, Rotations and UserLogouts count the
	// successful operations of each kind; Probes counts re-reads of ended
	// sessions.
	Logins, Reads, Increments, Rotations, UserLogouts, Probes uint64
	// MaxLatency is the slowest request.
	MaxLatency time.Duration
	// Duration is how long the load ran.
	Duration time.Duration
	// Problems describes the first broken promises (never with a session
	// id).
	Problems []string

	// Live holds each user's session when the load stopped, Dead the most
	// recent ids each user saw end. Only Stop fills them. The ids are
	// credentials: never print them.
	Live []LiveSession
	Dead []string
}

// LiveSession is one user's session as the user knows it.
type LiveSession struct {
	ID   string
	User string
	// Instance served the user's last request.
	Instance int
	Counter  int64
	// Uncertain is true when the user's last increment got no answer: the
	// stored counter is Counter or Counter+1.
	Uncertain bool
	// Expires is the expiry the application reported (zero if none).
	Expires time.Time
}

// Bad returns the number of broken promises.
func (r Result) Bad() uint64 {
	return r.Failed + r.Logouts + r.LostWrites + r.Resurrections + r.Anomalies
}

// Clean reports whether no promise was broken.
func (r Result) Clean() bool { return r.Bad() == 0 }

// Sub returns r's counts since prev, an earlier snapshot of the same load.
// MaxLatency, Duration and Problems stay r's.
func (r Result) Sub(prev Result) Result {
	r.Requests -= prev.Requests
	r.Failed -= prev.Failed
	r.Logouts -= prev.Logouts
	r.LostWrites -= prev.LostWrites
	r.Resurrections -= prev.Resurrections
	r.Anomalies -= prev.Anomalies
	r.Logins -= prev.Logins
	r.Reads -= prev.Reads
	r.Increments -= prev.Increments
	r.Rotations -= prev.Rotations
	r.UserLogouts -= prev.UserLogouts
	r.Probes -= prev.Probes
	return r
}

// String summarises the counters on one line, then the problems.
func (r Result) String() string {
	var b strings.Builder
	rate := 0.0
	if r.Duration > 0 {
		rate = float64(r.Requests) / r.Duration.Seconds()
	}
	fmt.Fprintf(&b, "%d requests in %s (%.0f/s, max latency %s): failed=%d logouts=%d lost_writes=%d resurrections=%d anomalies=%d; "+
		"logins=%d reads=%d increments=%d rotations=%d user_logouts=%d dead_probes=%d",
		r.Requests, r.Duration.Round(time.Millisecond), rate, r.MaxLatency.Round(time.Microsecond),
		r.Failed, r.Logouts, r.LostWrites, r.Resurrections, r.Anomalies,
		r.Logins, r.Reads, r.Increments, r.Rotations, r.UserLogouts, r.Probes)
	for _, p := range r.Problems {
		b.WriteString("\n  ")
		b.WriteString(p)
	}
	return b.String()
}

// maxProblems bounds the problem descriptions kept.
const maxProblems = 20

// counters are a Load's tallies, shared by every user.
type counters struct {
	requests                                                  atomic.Uint64
	failed, logouts, lostWrites, resurrections, anomalies     atomic.Uint64
	logins, reads, increments, rotations, userLogouts, probes atomic.Uint64
	maxLatency, peak                                          atomic.Int64

	mu       sync.Mutex
	problems []string
}

// problem counts one broken promise in n and keeps the first descriptions.
func (c *counters) problem(n *atomic.Uint64, desc string) {
	n.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.problems) < maxProblems {
		c.problems = append(c.problems, desc)
	}
}

// observe counts one request that took d.
func (c *counters) observe(d time.Duration) {
	c.requests.Add(1)
	raise(&c.maxLatency, int64(d))
	raise(&c.peak, int64(d))
}

// raise sets m to v if v is larger.
func raise(m *atomic.Int64, v int64) {
	for {
		cur := m.Load()
		if v <= cur || m.CompareAndSwap(cur, v) {
			return
		}
	}
}

func (c *counters) result() Result {
	c.mu.Lock()
	problems := append([]string(nil), c.problems...)
	c.mu.Unlock()
	return Result{
		Requests: c.requests.Load(), Failed: c.failed.Load(), Logouts: c.logouts.Load(),
		LostWrites: c.lostWrites.Load(), Resurrections: c.resurrections.Load(), Anomalies: c.anomalies.Load(),
		Logins: c.logins.Load(), Reads: c.reads.Load(), Increments: c.increments.Load(),
		Rotations: c.rotations.Load(), UserLogouts: c.userLogouts.Load(), Probes: c.probes.Load(),
		MaxLatency: time.Duration(c.maxLatency.Load()), Problems: problems,
	}
}
