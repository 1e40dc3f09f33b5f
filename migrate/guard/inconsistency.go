package guard

import "time"

// ReportInconsistency records one confirmed inconsistency observed at now: a
// session the distributed store served differently from the local one, after
// the consistency checker ruled out a race. Inconsistencies are the critical
// signal: Settings.InconsistencyLimit of them within InconsistencyWindow trip
// the guard at once, and InconsistencyPause of them pause it until they age
// out (checked on Tick). Callbacks run on the caller's goroutine after the
// lock is released. Safe for concurrent use.
func (g *Guard) ReportInconsistency(now time.Time) {
	g.mu.Lock()
	g.incidents.add(now)
	g.incCount = g.incidents.count(now)
	var c change
	switch st := g.State(); {
	case st == StateTripped:
	case g.incCount >= g.cfg.InconsistencyLimit:
		c = g.tripLocked(g.inconsistencyEvidence(now, float64(g.cfg.InconsistencyLimit)))
	case st == StateArmed && g.incCount >= g.cfg.InconsistencyPause:
		c = g.setLocked(StatePaused, g.inconsistencyEvidence(now, float64(g.cfg.InconsistencyPause)))
	}
	g.mu.Unlock()
	g.notify(c)
}

// inconsistencyEvidence is called with mu held.
func (g *Guard) inconsistencyEvidence(now time.Time, threshold float64) Evidence {
	return Evidence{
		Reason:    ReasonInconsistency,
		At:        now,
		Score:     float64(g.incCount),
		Threshold: threshold,
		Window:    Window{Start: now.Add(-g.cfg.InconsistencyWindow), End: now},
	}
}

// incidents remembers the times of the last limit inconsistencies: no more
// are needed to tell whether limit of them fall within the window.
type incidents struct {
	at     []time.Time // ring
	next   int
	n      int
	window time.Duration
}

func newIncidents(limit int, window time.Duration) incidents {
	return incidents{at: make([]time.Time, limit), window: window}
}

func (r *incidents) add(t time.Time) {
	r.at[r.next] = t
	r.next = (r.next + 1) % len(r.at)
	r.n = min(r.n+1, len(r.at))
}

// count returns how many remembered inconsistencies lie within the window
// ending at now. Reports stamped after now (clocks disagree) count.
func (r *incidents) count(now time.Time) int {
	c := 0
	for _, t := range r.at[:r.n] {
		if now.Sub(t) <= r.window {
			c++
		}
	}
	return c
}

func (r *incidents) clear() { r.next, r.n = 0, 0 }
