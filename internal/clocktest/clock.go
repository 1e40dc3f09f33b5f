package clocktest

import (
	"sync"
	"time"
)

// Clock is a fake clock that only moves when told to. It is safe for
// concurrent use; the zero value is not usable, use New.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a Clock reading t until it is advanced or set.
func New(t time.Time) *Clock {
	return &Clock{now: t}
}

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (backward when d is negative). Its
// method value fits storetest.Harness.Advance.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set sets the clock to t, which may be before the current time.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}
