package vuser

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Config configures a Load. Zero fields take the documented defaults.
type Config struct {
	// App is the application under load. Required.
	App App
	// Balancer picks the instance of every request. Required: a [Pool]
	// with the Sticky or RoundRobin policy, or any other Balancer.
	Balancer Balancer
	// Users is the number of virtual users, named vu-0, vu-1, ... Default 6.
	Users int
	// Think is the mean pause between two requests of one user (uniform in
	// [Think/2, 3·Think/2)); it keeps the load realistic and the machine
	// responsive. Default 10ms.
	Think time.Duration
	// MaxRequests bounds each user's requests. Default 20000.
	MaxRequests int
	// MaxDuration bounds the whole run: users stop when it has passed.
	// Default 3 minutes.
	MaxDuration time.Duration
	// RequestTimeout bounds each request. Default 5s.
	RequestTimeout time.Duration
	// Seed makes the users' choices reproducible. Default 1. Session ids
	// are the application's and never derive from it.
	Seed uint64
}

func (c *Config) setDefaults() error {
	if c.App == nil || c.Balancer == nil {
		return errors.New("vuser: Config.App and Config.Balancer are required")
	}
	if c.Users < 0 || c.Think < 0 || c.MaxRequests < 0 || c.MaxDuration < 0 || c.RequestTimeout < 0 {
		return errors.New("vuser: negative Users, Think, MaxRequests, MaxDuration or RequestTimeout")
	}
	orDefault(&c.Users, 6)
	orDefault(&c.Think, 10*time.Millisecond)
	orDefault(&c.MaxRequests, 20000)
	orDefault(&c.MaxDuration, 3*time.Minute)
	orDefault(&c.RequestTimeout, 5*time.Second)
	orDefault(&c.Seed, 1)
	return nil
}

// orDefault sets *v to def when it is zero.
func orDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Load is a running set of virtual users. Create it with Start and end it
// with Stop. Its methods are safe for concurrent use.
type Load struct {
	cfg   Config
	users []*user
	c     counters
	start time.Time
	ctx   context.Context // ends when the load stops: nothing is counted after

	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
	result   Result
}

// Start starts cfg.Users users, each on its own goroutine, and returns at
// once. They run until ctx ends, Stop is called, or their MaxRequests or
// MaxDuration bound is reached. The caller must call Stop, which waits for
// every user.
func Start(ctx context.Context, cfg Config) (*Load, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.MaxDuration)
	l := &Load{cfg: cfg, start: time.Now(), ctx: ctx, cancel: cancel}
	for i := range cfg.Users {
		l.users = append(l.users, &user{
			l:    l,
			idx:  i,
			name: fmt.Sprintf("vu-%d", i),
			rng:  rand.New(rand.NewPCG(cfg.Seed, uint64(i))),
		})
	}
	for _, u := range l.users {
		l.wg.Go(func() { u.run(ctx) })
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
// requests than when it was called, so that every user's session has been
// used since some event (a stage change). It returns an error when ctx ends
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
					return fmt.Errorf("vuser: user %s stopped after %d requests", u.name, u.requests.Load())
				}
				behind++
			}
		}
		if behind == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("vuser: %d of %d users below %d more requests: %w", behind, len(l.users), n, ctx.Err())
		case <-tick.C:
		}
	}
}

// Snapshot returns the counters so far; Live and Dead stay empty because
// the users are still changing them.
func (l *Load) Snapshot() Result {
	r := l.c.result()
	r.Duration = time.Since(l.start)
	return r
}

// TakePeak returns the slowest request since the previous TakePeak (or the
// start) and starts a new window; Peak returns it without doing so.
func (l *Load) TakePeak() time.Duration { return time.Duration(l.c.peak.Swap(0)) }

// Peak returns the slowest request since the last TakePeak.
func (l *Load) Peak() time.Duration { return time.Duration(l.c.peak.Load()) }

// Stop stops every user, waits for requests in flight and returns the
// final result with each user's live session and the ids the users saw
// end. A request cut short by Stop is not counted. Later calls return the
// same result.
func (l *Load) Stop() Result {
	l.stopOnce.Do(func() {
		l.cancel()
		l.wg.Wait()
		r := l.c.result()
		r.Duration = time.Since(l.start)
		for _, u := range l.users {
			if u.sid != "" {
				r.Live = append(r.Live, LiveSession{ID: u.sid, User: u.name, Instance: u.inst,
					Counter: u.counter, Uncertain: u.uncertain, Expires: u.expires})
			}
			r.Dead = append(r.Dead, u.dead...)
		}
		l.result = r
	})
	return l.result
}

// stopping reports whether the load is ending; answers then say nothing
// about the application.
func (l *Load) stopping() bool { return l.ctx.Err() != nil }

// age is the time since the load started, for problem descriptions.
func (l *Load) age() time.Duration { return time.Since(l.start) }
