package guard

import "math"

// cusum is one Bernoulli CUSUM: the log-likelihood ratio of "bad rate is
// P1" against "bad rate is P0", accumulated and floored at 0.
type cusum struct {
	reason   Reason
	disabled bool
	bad      func(counts) uint64
	up       float64 // ln(P1/P0): added per bad operation
	down     float64 // ln((1-P1)/(1-P0)) < 0: added per good operation
	h, pause float64

	s   float64
	run Window // every window since s last stood at 0
}

func newCUSUM(r Reason, c CUSUM, bad func(counts) uint64) cusum {
	return cusum{
		reason:   r,
		disabled: c.Disabled,
		bad:      bad,
		up:       math.Log(c.P1 / c.P0),
		down:     math.Log1p(-c.P1) - math.Log1p(-c.P0),
		h:        c.H,
		pause:    c.Pause,
	}
}

// update folds one evaluated window into the score.
func (c *cusum) update(w Window, n counts) {
	if c.disabled {
		return
	}
	k := c.bad(n)
	s := c.s + float64(k)*c.up + float64(n.ops-k)*c.down
	if s <= 0 {
		c.s, c.run = 0, Window{}
		return
	}
	if c.s == 0 {
		c.run = Window{Start: w.Start}
	}
	c.s = s
	c.run.End = w.End
	c.run.add(n)
}

func (c *cusum) reset() { c.s, c.run = 0, Window{} }

func (c *cusum) tripped() bool { return c.s > c.h }

func (c *cusum) pausing() bool { return c.s > c.pause }

// calm reports whether the score has fallen far enough below Pause for a
// paused guard to re-arm; the gap keeps the state from flapping.
func (c *cusum) calm() bool { return c.s <= c.pause/2 }

func (c *cusum) evidence(w Window, threshold float64) Evidence {
	return Evidence{Reason: c.reason, Score: c.s, Threshold: threshold, Window: w, Run: c.run}
}

func failures(c counts) uint64    { return c.fail }
func slowOps(c counts) uint64     { return c.slow }
func unavailable(c counts) uint64 { return c.down }
