package e2e

import (
	"fmt"
	"strings"
	"time"
)

// Result is what a [Load] observed. The first five counters are failures
// of the migration's promises; a clean run has them all at zero (see
// [Result.Clean]).
type Result struct {
	// Requests counts every HTTP request made.
	Requests uint64
	// Failed counts requests that got a transport error, a timeout or a
	// status other than the expected one (401 is expected only for a dead
	// session).
	Failed uint64
	// Logouts counts 401 answers for a session that should be live: a user
	// logged out by the migration (invariant 1).
	Logouts uint64
	// LostWrites counts answers whose counter is lower than the last one
	// the user was acknowledged (invariants 1 and 2).
	LostWrites uint64
	// Resurrections counts 200 answers for a session the user logged out
	// or rotated away (invariant 3).
	Resurrections uint64
	// Anomalies counts answers that make no sense otherwise: a counter
	// ahead of every write the user made, a missing cookie, a body that
	// does not decode.
	Anomalies uint64

	// Logins, Increments, Rotations and UserLogouts count the successful
	// operations of each kind; Probes counts re-reads of dead sessions.
	Logins, Increments, Rotations, UserLogouts, Probes uint64
	// MaxLatency is the slowest request.
	MaxLatency time.Duration
	// Duration is how long the load ran.
	Duration time.Duration
	// Problems describes the first bad answers (never with a session id).
	Problems []string

	// Live holds each user's session when the load stopped (filled by
	// Load.Stop only). The ids are credentials: do not log them.
	Live []LiveSession
	// Dead holds the most recent ids each user logged out or rotated away
	// (filled by Load.Stop only). Do not log them either.
	Dead []string
}

// LiveSession is one user's session as the user knows it.
type LiveSession struct {
	ID      string
	User    string
	Counter int64
	// Uncertain is true when the user's last increment got no answer: the
	// stored counter is Counter or Counter+1.
	Uncertain bool
}

// Bad returns the sum of the counters that must stay zero.
func (r Result) Bad() uint64 {
	return r.Failed + r.Logouts + r.LostWrites + r.Resurrections + r.Anomalies
}

// Clean reports whether the load saw no failure of any kind.
func (r Result) Clean() bool { return r.Bad() == 0 }

// String summarises the counters on one line, then the problems.
func (r Result) String() string {
	var b strings.Builder
	rate := 0.0
	if r.Duration > 0 {
		rate = float64(r.Requests) / r.Duration.Seconds()
	}
	fmt.Fprintf(&b, "%d requests in %s (%.0f/s, max latency %s): failed=%d logouts=%d lost_writes=%d resurrections=%d anomalies=%d; "+
		"logins=%d increments=%d rotations=%d user_logouts=%d dead_probes=%d",
		r.Requests, r.Duration.Round(time.Millisecond), rate, r.MaxLatency.Round(time.Microsecond),
		r.Failed, r.Logouts, r.LostWrites, r.Resurrections, r.Anomalies,
		r.Logins, r.Increments, r.Rotations, r.UserLogouts, r.Probes)
	for _, p := range r.Problems {
		b.WriteString("\n  ")
		b.WriteString(p)
	}
	return b.String()
}
