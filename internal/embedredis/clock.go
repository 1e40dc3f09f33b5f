package embedredis

import (
	"container/heap"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// clock is the time the server runs at and the state that decides when
// miniredis's own clock must move. Every field is guarded by
// Server.clock.
//
// Moving miniredis's clock is expensive: on its next access miniredis
// counts down the TTL of every key, sorting all the keys to do it (0.35ms
// for 1,500 keys, more under the race detector). So it moves only when an
// answer depends on it, and otherwise lags: then every absolute expiry is
// still exact (see prepare), and no key is live at the lagging clock that
// is expired at the real one, because due holds a lower bound of every
// expiry that the lagging clock has not passed.
type clock struct {
	m *miniredis.Miniredis

	// at is miniredis's clock: a whole millisecond, never after latest.
	at time.Time
	// latest is the clock of the command that runs (or ran last): the
	// real time when it took the lock, truncated to the millisecond, and
	// never before an earlier command's.
	latest time.Time

	// due holds, in Unix ms, a lower bound of the expiry of every key
	// that has one and is not expired at at: each expiry set since the
	// last rebuild, as a command set it (or a lower bound of it), minus
	// those at passed. Values of keys since deleted or given another
	// expiry stay until passed: they only cost an early move.
	due expiryHeap
	// keys is how many keys had an expiry at the last rebuild; due is
	// rebuilt from the keys when it holds far more values.
	keys int
	// dbs are the databases a command may have put keys in: what a
	// rebuild reads.
	dbs map[int]bool
	// hashTTLs is set once a hash field has been given an expiry: due
	// does not follow those, so from then on miniredis's clock moves
	// before every command.
	hashTTLs bool
	// scripts says, per Lua script (lowercase SHA1), whether it may read
	// the time (see classifyScript).
	scripts map[string]bool

	// moves counts the moves of miniredis's clock, for tests.
	moves int
}

func (c *clock) init(m *miniredis.Miniredis, t time.Time) {
	c.m, c.at, c.latest = m, t, t
	c.dbs = map[int]bool{0: true}
	c.scripts = map[string]bool{}
	m.SetTime(t)
	// After SetTime: ClockTTL starts its countdown from the time set.
	m.ClockTTL(true)
}

// read sets latest from a reading of the real clock and returns it.
func (c *clock) read(t time.Time) time.Time {
	if t = t.Truncate(time.Millisecond); t.After(c.latest) {
		c.latest = t
	}
	return c.latest
}

// stale reports whether miniredis's clock lags the command's.
func (c *clock) stale() bool { return c.at.Before(c.latest) }

// advance moves miniredis's clock to t (the command's clock). Not with
// miniredis locked: SetTime takes its lock.
func (c *clock) advance(t time.Time) {
	if !c.at.Before(t) {
		return
	}
	c.m.SetTime(t)
	c.at = t
	c.moves++
	ms := t.UnixMilli()
	for len(c.due) > 0 && c.due[0] <= ms {
		heap.Pop(&c.due)
	}
}

// expireDue moves miniredis's clock to t if a key may expire by then, or
// if hash fields have expiries (which due does not follow).
func (c *clock) expireDue(t time.Time) {
	if c.hashTTLs || (len(c.due) > 0 && c.due[0] <= t.UnixMilli()) {
		c.advance(t)
	}
}

// expiring records that a key may expire at ms (Unix milliseconds), or
// later.
func (c *clock) expiring(ms int64) {
	if ms > c.at.UnixMilli() {
		heap.Push(&c.due, ms)
	}
}

// compact rebuilds due from the keys' expiries when values of keys since
// deleted or changed dominate it. Not with miniredis locked.
func (c *clock) compact() {
	if len(c.due) <= max(4096, 4*c.keys) {
		return
	}
	c.due = c.due[:0]
	c.keys = 0
	for i := range c.dbs {
		db := c.m.DB(i) // counts the TTLs down to at first
		for _, k := range db.Keys() {
			if ttl := db.TTL(k); ttl > 0 {
				c.due = append(c.due, c.at.Add(ttl).UnixMilli())
				c.keys++
			}
		}
	}
	heap.Init(&c.due)
}

// expiryHeap is a min-heap of Unix milliseconds.
type expiryHeap []int64

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(int64)) }
func (h *expiryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
