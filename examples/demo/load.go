package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// loadConfig configures a load.
type loadConfig struct {
	// stores holds one session store per instance; users are spread over
	// them and stay with theirs (sticky sessions).
	stores []store.Store
	// users is the number of virtual users per store.
	users int
	// think is the mean pause between two operations of one user.
	think time.Duration
	// maxRequests bounds the operations of each user; maxDuration bounds
	// the whole load.
	maxRequests int
	maxDuration time.Duration
	// seed makes the users' choices reproducible.
	seed uint64
}

// load is a running set of virtual users. Its methods are safe for
// concurrent use; stop ends it.
type load struct {
	cfg   loadConfig
	users []*user
	c     counters
	start time.Time
	ctx   context.Context

	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
	final    loadResult
}

// startLoad starts the users, each on its own goroutine, and returns at
// once. They run until ctx ends, stop is called or their bounds are reached.
func startLoad(ctx context.Context, cfg loadConfig) *load {
	ctx, cancel := context.WithTimeout(ctx, cfg.maxDuration)
	l := &load{cfg: cfg, start: time.Now(), ctx: ctx, cancel: cancel}
	for i, s := range cfg.stores {
		for j := range cfg.users {
			l.users = append(l.users, &user{
				l: l, s: s, inst: i,
				name: fmt.Sprintf("user-%d.%d", i+1, j+1),
				rng:  rand.New(rand.NewPCG(cfg.seed, uint64(i*cfg.users+j))),
			})
		}
	}
	for _, u := range l.users {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			u.run(ctx)
		}()
	}
	return l
}

// snapshot returns the counters so far.
func (l *load) snapshot() tally { return l.c.tally() }

// liveSession is one user's session when the load stopped. ID is a
// credential: never print it.
type liveSession struct {
	ID        string
	User      string
	Instance  int
	Counter   int64
	Uncertain bool
	Expires   time.Time
}

// loadResult is what the load left behind: its counters, every user's live
// session and the ids the users saw end.
type loadResult struct {
	tally
	live []liveSession
	dead []string
}

// stop stops every user, waits for them and returns the result. Later calls
// return the same result.
func (l *load) stop() loadResult {
	l.stopOnce.Do(func() {
		l.cancel()
		l.wg.Wait()
		r := loadResult{tally: l.c.tally()}
		for _, u := range l.users {
			if u.sid != "" {
				r.live = append(r.live, liveSession{ID: u.sid, User: u.name, Instance: u.inst,
					Counter: u.counter, Uncertain: u.uncertain, Expires: u.expires})
			}
			r.dead = append(r.dead, u.dead...)
		}
		l.final = r
	})
	return l.final
}

// counters are the load's tallies, shared by every user.
type counters struct {
	requests                                                  atomic.Uint64
	failed, logouts, lostWrites, resurrections                atomic.Uint64
	logins, reads, increments, rotations, userLogouts, probes atomic.Uint64
	maxLatency, stepMaxLatency                                atomic.Int64

	mu       sync.Mutex
	problems []string
}

// maxProblems bounds the problem descriptions kept for the report.
const maxProblems = 10

// problem counts one broken promise in n and keeps the first few
// descriptions.
func (c *counters) problem(n *atomic.Uint64, desc string) {
	n.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.problems) < maxProblems {
		c.problems = append(c.problems, desc)
	}
}

// observe counts one finished operation that took d.
func (c *counters) observe(d time.Duration) {
	c.requests.Add(1)
	raise(&c.maxLatency, int64(d))
	raise(&c.stepMaxLatency, int64(d))
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

// stepMax returns the slowest operation since takeStepMax was last called.
func (l *load) stepMax() time.Duration {
	return time.Duration(l.c.stepMaxLatency.Load())
}

// takeStepMax returns the slowest operation since the previous call.
func (l *load) takeStepMax() time.Duration {
	return time.Duration(l.c.stepMaxLatency.Swap(0))
}

// tally is a snapshot of the counters. Failed, Logouts, LostWrites and
// Resurrections are the promises of the migration: they must stay zero.
type tally struct {
	Requests uint64
	// Failed counts operations that returned an error or wrong data (a
	// foreign or undecodable session, a counter ahead of every write, a
	// moved expiry).
	Failed uint64
	// Logouts counts reads that did not find a live session.
	Logouts uint64
	// LostWrites counts reads whose counter is below the last one
	// acknowledged.
	LostWrites uint64
	// Resurrections counts reads that found a session that was logged out
	// or rotated away.
	Resurrections uint64

	Logins, Reads, Increments, Rotations, UserLogouts, Probes uint64
	MaxLatency                                                time.Duration
	Problems                                                  []string
}

// sub returns the counts of t since prev (problems and latency are t's).
func (t tally) sub(prev tally) tally {
	t.Requests -= prev.Requests
	t.Failed -= prev.Failed
	t.Logouts -= prev.Logouts
	t.LostWrites -= prev.LostWrites
	t.Resurrections -= prev.Resurrections
	t.Logins -= prev.Logins
	t.Reads -= prev.Reads
	t.Increments -= prev.Increments
	t.Rotations -= prev.Rotations
	t.UserLogouts -= prev.UserLogouts
	t.Probes -= prev.Probes
	return t
}

func (c *counters) tally() tally {
	c.mu.Lock()
	problems := append([]string(nil), c.problems...)
	c.mu.Unlock()
	return tally{
		Requests: c.requests.Load(), Failed: c.failed.Load(), Logouts: c.logouts.Load(),
		LostWrites: c.lostWrites.Load(), Resurrections: c.resurrections.Load(),
		Logins: c.logins.Load(), Reads: c.reads.Load(), Increments: c.increments.Load(),
		Rotations: c.rotations.Load(), UserLogouts: c.userLogouts.Load(), Probes: c.probes.Load(),
		MaxLatency: time.Duration(c.maxLatency.Load()), Problems: problems,
	}
}
