package vuser

import (
	"context"
	"fmt"
	"sync"
)

// Balancer picks the instance that serves each request, as the load
// balancer in front of an application's instances does. Acquire and
// Release are called concurrently by every user.
type Balancer interface {
	// Acquire returns the instance the next request of user (0-based)
	// goes to; ok is false when no instance takes traffic, and the request
	// then fails. Every Acquire that returns ok is followed by exactly one
	// Release(inst) once the request is over.
	Acquire(user int) (inst int, ok bool)
	Release(inst int)
}

// Policy is how a Pool spreads requests.
type Policy int

const (
	// Sticky pins each user to one instance, user i first to instance
	// i mod n, as a load balancer with session affinity does. When a
	// user's instance is down, the user's next request re-pins it to
	// another instance that is up, and it stays there when its first
	// instance comes back (its affinity now names the new one).
	Sticky Policy = iota
	// RoundRobin sends every request to the next instance that is up,
	// whoever sends it: any request of a user may reach any instance.
	RoundRobin
)

func (p Policy) String() string {
	switch p {
	case Sticky:
		return "sticky"
	case RoundRobin:
		return "round-robin"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// Pool is a Balancer over a fixed number of instances, each either up
// (taking traffic) or down. Take an instance out with Down before stopping
// or restarting it, and put it back with Up once it serves again. It is
// safe for concurrent use.
type Pool struct {
	policy Policy

	mu       sync.Mutex
	up       []bool
	inFlight []int
	drained  []chan struct{} // per instance; closed when down with nothing in flight
	served   []uint64
	pins     map[int]int // Sticky: user -> instance
	next     int         // RoundRobin: the next instance to try
}

var _ Balancer = (*Pool)(nil)

// NewPool returns a Pool of instances instances, all up.
func NewPool(instances int, policy Policy) (*Pool, error) {
	if instances < 1 {
		return nil, fmt.Errorf("vuser: pool of %d instances, want at least 1", instances)
	}
	if policy != Sticky && policy != RoundRobin {
		return nil, fmt.Errorf("vuser: unknown %v", policy)
	}
	p := &Pool{
		policy:   policy,
		up:       make([]bool, instances),
		inFlight: make([]int, instances),
		drained:  make([]chan struct{}, instances),
		served:   make([]uint64, instances),
		pins:     make(map[int]int),
	}
	for i := range p.up {
		p.up[i] = true
	}
	return p, nil
}

// Instances returns the number of instances.
func (p *Pool) Instances() int { return len(p.up) }

// Acquire implements Balancer.
func (p *Pool) Acquire(user int) (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	inst, ok := p.pick(user)
	if ok {
		p.inFlight[inst]++
		p.served[inst]++
	}
	return inst, ok
}

// pick chooses the instance for user; p.mu must be held.
func (p *Pool) pick(user int) (int, bool) {
	n := len(p.up)
	if p.policy == RoundRobin {
		for range n {
			inst := p.next
			p.next = (p.next + 1) % n
			if p.up[inst] {
				return inst, true
			}
		}
		return 0, false
	}
	pin, pinned := p.pins[user]
	if !pinned {
		pin = user % n
	}
	if !p.up[pin] {
		// Spread the users of a lost instance over the others.
		moved := false
		for k := range n - 1 {
			if c := (pin + 1 + (user+k)%(n-1)) % n; p.up[c] {
				pin, moved = c, true
				break
			}
		}
		if !moved {
			return 0, false
		}
	}
	p.pins[user] = pin
	return pin, true
}

// Release implements Balancer.
func (p *Pool) Release(inst int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inFlight[inst]--
	if p.inFlight[inst] == 0 && !p.up[inst] && p.drained[inst] != nil {
		close(p.drained[inst])
		p.drained[inst] = nil
	}
}

// Down takes inst out: no new request goes to it, and Down returns once the
// requests already sent to it have ended (connection draining), so the
// instance can then be stopped without failing a request. It returns an
// error when ctx ends first; inst stays down. Sticky users pinned to inst
// move on their next request.
func (p *Pool) Down(ctx context.Context, inst int) error {
	p.mu.Lock()
	if err := p.check(inst); err != nil {
		p.mu.Unlock()
		return err
	}
	p.up[inst] = false
	if p.inFlight[inst] == 0 {
		p.mu.Unlock()
		return nil
	}
	if p.drained[inst] == nil {
		p.drained[inst] = make(chan struct{})
	}
	done := p.drained[inst]
	p.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("vuser: draining instance %d: %w", inst, ctx.Err())
	}
}

// Up puts inst back: round robin includes it at once, and sticky users
// whose instance is down, and users not pinned yet, may be pinned to it.
func (p *Pool) Up(inst int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.check(inst); err != nil {
		return err
	}
	p.up[inst] = true
	return nil
}

// SetPolicy changes how the pool spreads the requests that follow, as an
// operator reconfigures the load balancer: RoundRobin once every instance
// serves from Redis alone (complete), Sticky again before a rollback from
// it. Sticky users keep the pins they had (and get new ones as usual).
func (p *Pool) SetPolicy(policy Policy) error {
	if policy != Sticky && policy != RoundRobin {
		return fmt.Errorf("vuser: unknown %v", policy)
	}
	p.mu.Lock()
	p.policy = policy
	p.mu.Unlock()
	return nil
}

// Served returns how many requests each instance has been given.
func (p *Pool) Served() []uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]uint64(nil), p.served...)
}

// check validates an instance index; p.mu must be held.
func (p *Pool) check(inst int) error {
	if inst < 0 || inst >= len(p.up) {
		return fmt.Errorf("vuser: instance %d outside 0..%d", inst, len(p.up)-1)
	}
	return nil
}
