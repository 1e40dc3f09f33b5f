package guard

import (
	"sync"
	"time"
)

// lifecycle owns the goroutines that call Tick and probe the process's
// own delay.
type lifecycle struct {
	mu      sync.Mutex
	started bool
	closed  bool
	stop    chan struct{}
	wg      sync.WaitGroup
}

func (l *lifecycle) init() {
	l.stop = make(chan struct{})
}

// Start starts the goroutine that calls Tick(Settings.Now()) every
// Settings.Interval until Close and, unless Settings.DisableProbe, the
// probe that measures the process's own delay every Settings.ProbeInterval,
// or every Interval once ten Ticks in a row saw no operation (see "Process
// delay" in the package doc). Calls after the first, and
// calls after Close, do nothing. Without Start (or your own calls to Tick)
// only the inline consecutive-failure trip and inconsistencies can trip the
// guard, and latencies are judged as measured.
func (g *Guard) Start() {
	l := &g.life
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started || l.closed {
		return
	}
	l.started = true
	l.wg.Add(1)
	go g.loop(g.cfg.Interval)
	if !g.cfg.DisableProbe {
		l.wg.Add(1)
		go g.probe(g.cfg.ProbeInterval, g.cfg.Interval)
	}
}

func (g *Guard) loop(every time.Duration) {
	defer g.life.wg.Done()
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

// Close stops Start's goroutines and waits for them to return, so no
// callback runs from them after Close returns. It is idempotent and always
// returns nil. Record, Tick and the other methods keep working after Close.
// Close must not be called from a callback, which may run on Start's
// goroutine.
func (g *Guard) Close() error {
	l := &g.life
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.stop)
	}
	l.mu.Unlock()
	l.wg.Wait()
	return nil
}
