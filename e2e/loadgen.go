package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// LoadConfig configures a [Load]. Zero fields take the documented defaults.
type LoadConfig struct {
	// Targets are the base URLs of the application instances
	// ("http://127.0.0.1:port"), on loopback addresses only: this is a test
	// load, never aimed at another machine. Required. User i is pinned to
	// Targets[i%len(Targets)] for its whole life, as a load balancer with
	// sticky sessions would do.
	Targets []string
	// Users is the number of virtual users. Default 2 per target.
	Users int
	// Think is the mean pause between two requests of one user (uniform in
	// [Think/2, 3·Think/2)). It keeps the load realistic and the machine
	// responsive. Default 10ms.
	Think time.Duration
	// MaxRequests bounds the requests of each user. Default 20000.
	MaxRequests int
	// MaxDuration bounds the whole run: users stop when it has passed.
	// Default 3 minutes.
	MaxDuration time.Duration
	// Timeout bounds each HTTP request. Default 5s.
	Timeout time.Duration
	// Seed makes the users' choices reproducible. Default 1.
	Seed uint64
}

func (c *LoadConfig) setDefaults() error {
	if len(c.Targets) == 0 {
		return errors.New("e2e: load: no targets")
	}
	for _, t := range c.Targets {
		if err := checkLoopback(t); err != nil {
			return err
		}
	}
	if c.Users < 0 || c.Think < 0 || c.MaxRequests < 0 || c.MaxDuration < 0 || c.Timeout < 0 {
		return errors.New("e2e: load: negative Users, Think, MaxRequests, MaxDuration or Timeout")
	}
	if c.Users == 0 {
		c.Users = 2 * len(c.Targets)
	}
	if c.Think == 0 {
		c.Think = 10 * time.Millisecond
	}
	if c.MaxRequests == 0 {
		c.MaxRequests = 20000
	}
	if c.MaxDuration == 0 {
		c.MaxDuration = 3 * time.Minute
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Second
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	return nil
}

// checkLoopback returns an error unless target is an http URL whose host is
// a loopback IP address.
func checkLoopback(target string) error {
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("e2e: load: target %q: %w", target, err)
	}
	ip := net.ParseIP(u.Hostname())
	if u.Scheme != "http" || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("e2e: load: target %q: want http://<loopback IP>:<port>", target)
	}
	return nil
}

// Load is a running load: virtual users exercising sessionapp instances and
// checking every answer. Create it with [StartLoad] and end it with
// [Load.Stop]. Its methods are safe for concurrent use.
type Load struct {
	cfg    LoadConfig
	client *http.Client
	users  []*user
	c      counters
	start  time.Time

	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
	result   Result
}

// StartLoad starts cfg.Users virtual users, each on its own goroutine, and
// returns at once. They run until ctx ends, [Load.Stop] is called, or
// their MaxRequests or MaxDuration bound is reached. The caller must call
// Stop, which also releases the HTTP connections.
func StartLoad(ctx context.Context, cfg LoadConfig) (*Load, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.MaxDuration)
	l := &Load{
		cfg: cfg,
		client: &http.Client{
			Timeout: cfg.Timeout,
			Transport: &http.Transport{
				MaxIdleConnsPerHost: cfg.Users,
				DisableCompression:  true,
			},
			// The session cookie is handled by hand, per user.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		cancel: cancel,
		start:  time.Now(),
	}
	for i := range cfg.Users {
		u := &user{
			l:    l,
			name: fmt.Sprintf("vu-%d", i),
			base: cfg.Targets[i%len(cfg.Targets)],
			rng:  rand.New(rand.NewPCG(cfg.Seed, uint64(i))),
		}
		l.users = append(l.users, u)
	}
	for _, u := range l.users {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			u.run(ctx)
		}()
	}
	return l, nil
}

// Progress returns how many requests each user has completed.
func (l *Load) Progress() []uint64 {
	out := make([]uint64, len(l.users))
	for i, u := range l.users {
		out[i] = u.requests.Load()
	}
	return out
}

// WaitProgress returns once every user has completed at least n more
// requests than when it was called, so that every session has been used
// since some event (a stage change). It returns an error when ctx ends
// first or a user has stopped.
func (l *Load) WaitProgress(ctx context.Context, n uint64) error {
	base := l.Progress()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		behind := 0
		for i, u := range l.users {
			if u.requests.Load() < base[i]+n {
				if u.stopped.Load() {
					return fmt.Errorf("e2e: load: user %s stopped after %d requests", u.name, u.requests.Load())
				}
				behind++
			}
		}
		if behind == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("e2e: load: %d of %d users below %d more requests: %w", behind, len(l.users), n, ctx.Err())
		case <-tick.C:
		}
	}
}

// Snapshot returns the counters so far; Live and Dead are left empty
// because the users are still changing them.
func (l *Load) Snapshot() Result {
	r := l.c.result()
	r.Duration = time.Since(l.start)
	return r
}

// Stop stops every user, waits for requests in flight, closes idle
// connections and returns the final result, with each user's live session
// and the ids the users saw die. Later calls return the same result.
func (l *Load) Stop() Result {
	l.stopOnce.Do(func() {
		l.cancel()
		l.wg.Wait()
		l.client.CloseIdleConnections()
		r := l.c.result()
		r.Duration = time.Since(l.start)
		for _, u := range l.users {
			if u.sid != "" {
				r.Live = append(r.Live, LiveSession{ID: u.sid, User: u.name, Counter: u.counter, Uncertain: u.uncertain})
			}
			r.Dead = append(r.Dead, u.dead...)
		}
		l.result = r
	})
	return l.result
}

// counters are the Load's tallies, shared by every user.
type counters struct {
	requests, failed, logouts, lostWrites, resurrections, anomalies atomic.Uint64
	logins, increments, rotations, userLogouts, probes              atomic.Uint64
	maxLatency                                                      atomic.Int64

	mu       sync.Mutex
	problems []string
}

// maxProblems bounds the problem descriptions kept for the report.
const maxProblems = 20

// problem records one bad answer: its counter and, for the first few, a
// description (never a session id).
func (c *counters) problem(n *atomic.Uint64, format string, args ...any) {
	n.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.problems) < maxProblems {
		c.problems = append(c.problems, fmt.Sprintf(format, args...))
	}
}

func (c *counters) observe(d time.Duration) {
	c.requests.Add(1)
	for {
		cur := c.maxLatency.Load()
		if int64(d) <= cur || c.maxLatency.CompareAndSwap(cur, int64(d)) {
			return
		}
	}
}

func (c *counters) result() Result {
	c.mu.Lock()
	problems := append([]string(nil), c.problems...)
	c.mu.Unlock()
	return Result{
		Requests:      c.requests.Load(),
		Failed:        c.failed.Load(),
		Logouts:       c.logouts.Load(),
		LostWrites:    c.lostWrites.Load(),
		Resurrections: c.resurrections.Load(),
		Anomalies:     c.anomalies.Load(),
		Logins:        c.logins.Load(),
		Increments:    c.increments.Load(),
		Rotations:     c.rotations.Load(),
		UserLogouts:   c.userLogouts.Load(),
		Probes:        c.probes.Load(),
		MaxLatency:    time.Duration(c.maxLatency.Load()),
		Problems:      problems,
	}
}
