package router

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/sessionmigrate/sessionmigrate/store"
)

const maxRepairInterval = 30 * time.Second

// writer applies tracked sessions to the distributed store off the request
// path: async writes in shadow, failed synchronous writes, failed lazy copies
// and repairs. Each session hashes to one worker, so its writes are applied
// in order; every write is versioned, so a late one can never replace a newer
// one anyway. Queues carry ids, not data: the worker reads the current record
// from local when it applies, so repeated writes to a hot session coalesce.
type writer struct {
	c           *Core
	queues      []chan string
	outstanding atomic.Int64 // ids offered and not yet applied
	failures    atomic.Int64 // failed applies since the last repair round
	successes   atomic.Int64 // successful applies since the last repair round
	backingOff  atomic.Bool  // the repair loop waits longer than its base interval
	wake        chan struct{}
	closed      atomic.Bool
	// ctx is the parent of every distributed call the workers make; close
	// cancels it so that a hanging store cannot hold Close past its ctx.
	ctx       context.Context
	cancel    context.CancelFunc
	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

func newWriter(c *Core) *writer {
	w := &writer{c: c, stop: make(chan struct{}), wake: make(chan struct{}, 1)}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	per := max(c.cfg.QueueSize/c.cfg.Workers, 1)
	w.queues = make([]chan string, c.cfg.Workers)
	for i := range w.queues {
		w.queues[i] = make(chan string, per)
		w.wg.Add(1)
		go w.work(w.queues[i])
	}
	w.wg.Add(1)
	go w.repairLoop()
	return w
}

// offer hands id (already flagged queued in the tracker) to its worker, or
// counts a drop and leaves it for the repair loop. It never blocks.
func (w *writer) offer(id string) {
	if w.closed.Load() {
		w.c.track.Unqueue(id)
		return
	}
	q := w.queues[xxhash.Sum64String(id)%uint64(len(w.queues))]
	w.outstanding.Add(1)
	select {
	case q <- id:
	default:
		w.outstanding.Add(-1)
		w.c.track.Unqueue(id)
		w.c.obs.AsyncDropped()
	}
}

func (w *writer) depth() int {
	n := 0
	for _, q := range w.queues {
		n += len(q)
	}
	return n
}

func (w *writer) work(q chan string) {
	defer w.wg.Done()
	for {
		select {
		case id := <-q:
			w.applyOne(w.ctx, id)
		case <-w.stop:
			return
		}
	}
}

func (w *writer) applyOne(ctx context.Context, id string) {
	if err := w.apply(ctx, id); err != nil {
		w.failures.Add(1)
	} else if w.backingOff.Load() {
		w.successes.Add(1)
		w.kick()
	}
	w.outstanding.Add(-1)
}

// apply writes the tracked state of id to the distributed store and forgets
// id when the distributed store holds it.
func (w *writer) apply(ctx context.Context, id string) error {
	c := w.c
	e, ok := c.track.Unqueue(id)
	if !ok {
		return nil
	}
	actx, cancel := store.WithTimeout(ctx, c.cfg.AsyncTimeout)
	defer cancel()
	var applied uint64
	var err error
	switch e.kind {
	case opDelete:
		applied = e.version
		err = c.dist.DeleteVersion(actx, id, e.version, e.until)
	default:
		var rec store.Record
		var found bool
		rec, found, err = c.local.Get(actx, id)
		switch {
		case err != nil:
		case found:
			rec = Copyable(rec)
			applied = rec.Version
			err = c.dist.Set(actx, id, rec)
		default:
			// Local no longer has it: it expired (a delete would have
			// replaced the entry). Make sure no older copy outlives it.
			applied = e.version
			err = c.dist.DeleteVersion(actx, id, e.version, c.liveUntil(e.until))
		}
	}
	c.obs.AsyncApplied(err)
	if err == nil {
		c.track.Clear(id, applied)
	}
	return err
}

// Copyable prepares a local record for a copy to the distributed store
// (repair, lazy copy, backfill). A
// record written before the Migrator existed has version 0, which stores treat
// as an unconditional write; copying it at version 1 keeps the copy a
// compare-and-set that every real write and tombstone wins.
func Copyable(rec store.Record) store.Record {
	if rec.Version == 0 {
		rec.Version = 1
	}
	return rec
}

func (w *writer) repairLoop() {
	defer w.wg.Done()
	interval := w.c.cfg.RepairInterval
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		woken := false
		select {
		case <-w.stop:
			return
		case <-t.C:
		case <-w.wake:
			woken = true
		}
		// A round with failures and no success means the store is still
		// down: wait longer. Any success, or a wake-up (a write got
		// through, an operator resumed), means it is back: repair now.
		failed := w.failures.Swap(0) > 0 && w.successes.Swap(0) == 0 && !woken
		interval = nextRepairInterval(interval, w.c.cfg.RepairInterval, failed)
		w.backingOff.Store(interval > w.c.cfg.RepairInterval)
		w.repairRound()
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(interval)
	}
}

// nextRepairInterval is the wait before the next repair round: the base
// interval after a round without failures, else twice the current one, up to
// maxRepairInterval (or base, if it is longer: backing off never retries
// sooner than configured).
func nextRepairInterval(cur, base time.Duration, failed bool) time.Duration {
	if !failed {
		return base
	}
	return max(min(cur*2, maxRepairInterval), base)
}

// kick runs a repair round now if the loop is backing off; it never blocks.
func (w *writer) kick() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// repairRound offers a batch of tracked sessions that are not queued.
func (w *writer) repairRound() {
	for _, id := range w.c.track.Pending(w.c.cfg.RepairBatch) {
		w.offer(id)
	}
}

// flush runs a repair round and waits until every offered id is applied.
func (w *writer) flush(ctx context.Context) error {
	if w.closed.Load() {
		return nil // no worker would apply anything
	}
	w.repairRound()
	return w.flushQueued(ctx)
}

// close stops accepting work, waits for the queues to drain (bounded by
// ctx), then cancels the distributed calls still running and stops every
// goroutine.
func (w *writer) close(ctx context.Context) error {
	var err error
	w.closeOnce.Do(func() {
		// Refuse new ids first (they stay tracked), then drain what is queued.
		w.closed.Store(true)
		err = w.flushQueued(ctx)
		w.cancel()
		close(w.stop)
		w.wg.Wait()
		// Whatever is left in the queues stays tracked as unsynced.
		for _, q := range w.queues {
			for len(q) > 0 {
				w.c.track.Unqueue(<-q)
				w.outstanding.Add(-1)
			}
		}
	})
	return err
}

func (w *writer) flushQueued(ctx context.Context) error {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for w.outstanding.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}
