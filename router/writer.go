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

// repairGrowth bounds how far a repair batch grows past RepairBatch.
const repairGrowth = 16

// writer applies tracked sessions to the distributed store off the request
// path: async writes in shadow, failed synchronous writes, failed lazy copies
// and repairs. Each session hashes to one worker, so its writes are applied
// in order; every write is versioned, so a late one can never replace a newer
// one anyway. Queues carry ids, not data: the worker reads the current record
// from local when it applies, so repeated writes to a hot session coalesce.
//
// The repair loop drains what the queues dropped or failed in batches
// (store.BatchSetter when the distributed store has it: one pipelined round
// trip per batch), growing the batch while the distributed store keeps up,
// so a backlog built during an outage drains as fast as the store accepts.
// After the unsynced set overflowed it also runs a reconciliation pass that
// copies every local session (see reconcile).
type writer struct {
	c           *Core
	queues      []chan string
	setMany     func(ctx context.Context, entries []store.Entry) ([]bool, error)
	outstanding atomic.Int64 // ids offered and not yet applied
	failures    atomic.Int64 // failed applies since the last repair round
	successes   atomic.Int64 // successful applies since the last repair round
	backingOff  atomic.Bool  // the repair loop waits longer than its base interval
	wake        chan struct{}
	rounds      chan chan struct{} // flush asks the repair loop for a round
	closed      atomic.Bool
	batch       int // the repair batch size; owned by the repair loop
	// ctx is the parent of every distributed call the workers make; close
	// cancels it so that a hanging store cannot hold Close past its ctx.
	ctx       context.Context
	cancel    context.CancelFunc
	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

func newWriter(c *Core) *writer {
	w := &writer{c: c, stop: make(chan struct{}), wake: make(chan struct{}, 1), rounds: make(chan chan struct{}), batch: c.cfg.RepairBatch}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	w.setMany = SetManyFunc(c.dist)
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

// SetManyFunc returns s's batch write (store.BatchSetter), or one Set per
// entry when it has none; then applied[i] is true for every Set that
// returned nil (a plain Set cannot tell a write from an ignored older copy).
func SetManyFunc(s store.Store) func(ctx context.Context, entries []store.Entry) ([]bool, error) {
	if bs, ok := s.(store.BatchSetter); ok {
		return bs.SetMany
	}
	return func(ctx context.Context, entries []store.Entry) ([]bool, error) {
		applied := make([]bool, len(entries))
		var first error
		for i, e := range entries {
			if err := s.Set(ctx, e.ID, e.Record); err != nil {
				if first == nil {
					first = err
				}
				continue
			}
			applied[i] = true
		}
		return applied, first
	}
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
	var copied *store.Record // the copy a set stored, to recheck
	var err error
	if e.kind == opDelete {
		applied = e.version
		err = c.dist.DeleteVersion(actx, id, e.version, e.until())
	} else {
		var rec store.Record
		var found bool
		if rec, found, err = c.local.Get(actx, id); err == nil {
			if found {
				rec = Copyable(rec)
				applied, copied = rec.Version, &rec
				err = c.dist.Set(actx, id, rec)
			} else {
				applied = e.version
				err = w.expired(actx, id, e)
			}
		}
	}
	c.obs.AsyncApplied(err)
	if err == nil {
		c.track.Clear(id, applied)
		if copied != nil {
			c.RecheckCopy(actx, id, *copied)
		}
	}
	return err
}

// expired handles a tracked set whose session local no longer has: it
// expired (a delete would have replaced the entry). It makes sure no older
// copy outlives it.
func (w *writer) expired(ctx context.Context, id string, e entry) error {
	return w.c.dist.DeleteVersion(ctx, id, e.version, w.c.liveUntil(e.until()))
}

func (w *writer) repairLoop() {
	defer w.wg.Done()
	interval := w.c.cfg.RepairInterval
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		woken := false
		var done chan struct{}
		select {
		case <-w.stop:
			return
		case <-t.C:
		case <-w.wake:
			woken = true
		case done = <-w.rounds:
			woken = true
		}
		// A round with failures and no success means the store is still
		// down: wait longer. Any success, or a wake-up (a write got
		// through, an operator resumed), means it is back: repair now.
		failed := w.failures.Swap(0) > 0 && w.successes.Swap(0) == 0 && !woken
		if w.repairRound() {
			failed = true
		}
		if done != nil {
			close(done)
		}
		interval = nextRepairInterval(interval, w.c.cfg.RepairInterval, failed)
		w.backingOff.Store(interval > w.c.cfg.RepairInterval)
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

// repairRound applies tracked sessions that no worker holds, batch after
// batch while batches succeed, doubling the batch after each full one (up to
// repairGrowth times RepairBatch) and halving it after a failure, which ends
// the round. Then, if the unsynced set overflowed and has drained, it
// reconciles. It reports whether anything failed.
func (w *writer) repairRound() (failed bool) {
	for {
		select {
		case <-w.stop:
			return false
		default:
		}
		n := w.batch
		ids := w.c.track.Pending(n)
		if len(ids) == 0 {
			break
		}
		if !w.applyBatch(ids) {
			w.batch = max(w.batch/2, 1)
			return true
		}
		if len(ids) < n {
			break
		}
		w.batch = min(w.batch*2, repairGrowth*w.c.cfg.RepairBatch)
	}
	if w.c.track.Overflowed() && w.c.track.Len() <= int(w.c.track.max/2) {
		return !w.reconcile()
	}
	return false
}

// applyBatch applies ids (flagged queued by Pending): deletes one by one,
// then sets in one batch write. It reports whether every one succeeded.
// The sets' records are read from local only once the deletes are done,
// right before the batch write: a record read earlier could be stale by
// the time it is sent (see Core.RecheckCopy).
//
// Every distributed call gets its own AsyncTimeout: one deadline shared by
// the batch would, once a long run of deletes had used it up, fail the
// rest at once, and the guard would count those instant failures as the
// store's timeouts (eight in a row trip it).
func (w *writer) applyBatch(ids []string) bool {
	c := w.c
	ctx := w.ctx
	ok := true
	done := func(id string, version uint64, err error) {
		c.obs.AsyncApplied(err)
		if err != nil {
			ok = false
			return
		}
		c.track.Clear(id, version)
	}
	type tracked struct {
		id string
		e  entry
	}
	sets := make([]tracked, 0, len(ids))
	for _, id := range ids {
		e, ok := c.track.Unqueue(id)
		if !ok {
			continue
		}
		if e.kind == opSet {
			sets = append(sets, tracked{id, e})
			continue
		}
		dctx, cancel := store.WithTimeout(ctx, c.cfg.AsyncTimeout)
		err := c.dist.DeleteVersion(dctx, id, e.version, e.until())
		cancel()
		done(id, e.version, err)
	}
	entries := make([]store.Entry, 0, len(sets))
	for _, t := range sets {
		rec, found, err := c.local.Get(ctx, t.id)
		if err == nil && found {
			entries = append(entries, store.Entry{ID: t.id, Record: Copyable(rec)})
			continue
		}
		if err == nil {
			dctx, cancel := store.WithTimeout(ctx, c.cfg.AsyncTimeout)
			err = w.expired(dctx, t.id, t.e)
			cancel()
		}
		done(t.id, t.e.version, err)
	}
	if len(entries) == 0 {
		return ok
	}
	sctx, cancel := store.WithTimeout(ctx, c.cfg.AsyncTimeout)
	applied, err := w.setMany(sctx, entries)
	cancel()
	for i, e := range entries {
		if err != nil && (i >= len(applied) || !applied[i]) {
			// Failed, or ignored in a batch that had failures: the
			// outcome is unknown, keep it tracked.
			c.obs.AsyncApplied(err)
			ok = false
			continue
		}
		c.obs.AsyncApplied(nil)
		c.track.Clear(e.ID, e.Record.Version)
		if i < len(applied) && applied[i] {
			c.RecheckCopy(ctx, e.ID, e.Record)
		}
	}
	return ok
}

// reconcile copies every live local session to the distributed store (a versioned compare-and-set: nothing newer is
// replaced), because sets made while the unsynced set was full were not
// tracked. When the whole pass succeeds, overflows that happened before it
// started are covered. It reports whether it did.
func (w *writer) reconcile() bool {
	sc, ok := w.c.local.(store.Scanner)
	if !ok {
		return false // nothing can list local sessions; Overflowed stays true
	}
	gen := w.c.track.Generation()
	batch := make([]store.Entry, 0, w.c.cfg.RepairBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		ctx, cancel := store.WithTimeout(w.ctx, w.c.cfg.AsyncTimeout)
		defer cancel()
		applied, err := w.setMany(ctx, batch)
		for i, e := range batch {
			if i < len(applied) && applied[i] {
				w.c.RecheckCopy(ctx, e.ID, e.Record)
			}
		}
		batch = batch[:0]
		return err
	}
	err := sc.Scan(w.ctx, func(id string, rec store.Record) error {
		select {
		case <-w.stop:
			return context.Canceled
		default:
		}
		// Tracked sessions too: local holds the newest write, which a
		// tracked entry may predate. The copy is a compare-and-set.
		batch = append(batch, store.Entry{ID: id, Record: Copyable(rec)})
		if len(batch) == cap(batch) {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return false
	}
	w.c.track.Reconciled(gen)
	return true
}

// flush has the repair loop run a round, waits for it, then waits until
// every id offered to the workers is applied.
func (w *writer) flush(ctx context.Context) error {
	if w.closed.Load() {
		return nil // no worker would apply anything
	}
	if err := w.round(ctx); err != nil {
		return err
	}
	return w.flushQueued(ctx)
}

// round has the repair loop run a round and waits for it.
func (w *writer) round(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case w.rounds <- done:
	case <-w.stop:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
	case <-w.stop:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// close stops accepting work, waits for the queues to drain (bounded by
// ctx), then cancels the distributed calls still running and stops every
// goroutine.
func (w *writer) close(ctx context.Context) error {
	var err error
	w.closeOnce.Do(func() {
		// Refuse new ids first (they stay tracked), then drain what is
		// queued, then repair what is tracked while rounds make progress.
		w.closed.Store(true)
		err = w.flushQueued(ctx)
		for err == nil && w.c.track.Len() > 0 {
			before := w.c.track.Len()
			if err = w.round(ctx); err == nil && w.c.track.Len() >= before {
				break // the store takes nothing: Close reports what is left
			}
		}
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
