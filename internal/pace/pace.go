// Package pace holds a loop that handles items to a rate: the rate limit
// of backfill and of the full diff's passes.
package pace

import (
	"context"
	"time"
)

// Limiter paces a loop to a rate of items per second, counted from its
// creation. The zero rate, or a negative one, never waits. A Limiter is a
// value: it holds no state besides its rate and start.
type Limiter struct {
	rate  float64
	start time.Time
}

// New returns a Limiter for rate items per second, starting now.
func New(rate float64) Limiter { return Limiter{rate: rate, start: time.Now()} }

// Wait returns once done items are within the rate, or with ctx's cause
// when ctx ends first.
func (l Limiter) Wait(ctx context.Context, done int64) error {
	if l.rate <= 0 {
		return nil
	}
	wait := time.Until(l.start.Add(time.Duration(float64(done) / l.rate * float64(time.Second))))
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
