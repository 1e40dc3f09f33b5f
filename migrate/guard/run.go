package guard

import (
	"sync"
	"time"
)

// lifecycle owns the goroutine that calls Tick.
type lifecycle struct {
	mu      sync.Mutex
	started bool
	closed  bool
	stop    chan struct{}
	done    chan struct{}
}

func (l *lifecycle) init() {
	l.stop = make(chan struct{})
	l.done = make(chan struct{})
}

// Start starts the goroutine that calls Tick(Settings.Now()) every
// Settings.Interval until Close. Calls after the first, and calls after
// Close, do nothing. Without Start (or your own calls to Tick) only the
// inline consecutive-failure trip and inconsistencies can trip the guard.
func (g *Guard) Start() {
	l := &g.life
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started || l.closed {
		return
	}
	l.started = true
	go g.loop(g.cfg.Interval)
}

func (g *Guard) loop(every time.Duration) {
	defer close(g.life.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-g.life.stop:
			return
		case <-t.C:
			g.Tick(g.cfg.Now())
		}
	}
}

// Close stops Start's goroutine and waits for it to return, so no callback
// runs from it after Close returns. It is idempotent and always returns nil.
// Record, Tick and the other methods keep working after Close. Close must
// not be called from a callback, which may run on that goroutine.
func (g *Guard) Close() error {
	l := &g.life
	l.mu.Lock()
	started := l.started
	if !l.closed {
		l.closed = true
		close(l.stop)
	}
	l.mu.Unlock()
	if started {
		<-l.done
	}
	return nil
}
