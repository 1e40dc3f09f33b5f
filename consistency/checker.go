package consistency

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// Kind classifies a comparison. The values are fixed and usable as metric
// labels.
type Kind string

const (
	Match   Kind = "match"
	Missing Kind = "missing"
	Stale   Kind = "stale"
	Extra   Kind = "extra"
	Data    Kind = "data"
	Expiry  Kind = "expiry"
)

// Critical reports whether a confirmed mismatch of kind k means the
// distributed store would serve a wrong answer.
func (k Kind) Critical() bool {
	return k == Stale || k == Extra || k == Data || k == Expiry
}

// Comparator reports whether two encoded sessions are the same session. The
// default is bytes.Equal; applications whose codec is not deterministic
// (map order, timestamps) supply their own.
type Comparator func(local, distributed []byte) bool

// Compare classifies a local and a distributed read of one session.
func Compare(cmp Comparator, l store.Record, lfound bool, d store.Record, dfound bool) Kind {
	if cmp == nil {
		cmp = bytes.Equal
	}
	switch {
	case !lfound && !dfound:
		return Match
	case lfound && !dfound:
		return Missing
	case !lfound:
		return Extra
	case l.Version != d.Version && l.Version != 0 && d.Version != 0:
		if d.Version < l.Version {
			return Stale
		}
		// The distributed copy is newer than the local read: a write landed
		// between the two reads. The re-check decides.
		return Data
	case !cmp(l.Data, d.Data):
		return Data
	case l.ExpiresAt.UnixMilli() != d.ExpiresAt.UnixMilli():
		return Expiry
	}
	return Match
}

// Mismatch is a confirmed difference between the two copies of a session,
// as the re-check read them. ID is a credential: never log or export it.
type Mismatch struct {
	ID                           string
	Kind                         Kind
	Local, Distributed           store.Record
	LocalFound, DistributedFound bool
	// Tombstoned and TombstoneVersion report a tombstone in the
	// distributed store (full diff only: the online checker reads with Get,
	// which does not show tombstones).
	Tombstoned       bool
	TombstoneVersion uint64
	// Evidence is set by the full diff for an Extra (EvidenceTombstone,
	// EvidenceUnversioned or EvidenceOrphan).
	Evidence string
}

// Defaults of Config's zero values.
const (
	// DefaultQueue bounds offered comparisons waiting.
	DefaultQueue = 1000
	// DefaultDelay is how long a mismatch waits before its re-check: above
	// the routers' default synchronous distributed timeout
	// (router.DefaultDistTimeout, 100ms) with room for the write to land,
	// as the Migrator derives it (2 × DistTimeout + 50ms).
	DefaultDelay = 250 * time.Millisecond
	// DefaultTimeout bounds each distributed read.
	DefaultTimeout = time.Second
)

// Config configures a Checker.
type Config struct {
	// Local and Distributed are the two stores. Required.
	Local, Distributed store.Store
	// Compare decides data equality (default bytes.Equal).
	Compare Comparator
	// Queue bounds offered comparisons waiting (default DefaultQueue);
	// beyond it Offer drops and counts.
	Queue int
	// Delay is how long a mismatch waits before its re-check (default
	// DefaultDelay). Keep it above the routers' synchronous distributed
	// timeout: a write already under way at the offered read then has
	// landed, or is tracked as in flight, by the re-check.
	Delay time.Duration
	// Timeout bounds each distributed read (default DefaultTimeout).
	Timeout time.Duration
	// InFlight reports whether id has a distributed write pending; such
	// sessions are not compared. Optional.
	InFlight func(id string) bool
	// OnResult is called for every finished comparison: kind Match, or the
	// kind of a mismatch with confirmed telling whether it survived the
	// re-check. Optional;
	// called from the checker's goroutines.
	OnResult func(kind Kind, confirmed bool)
	// OnDrop is called when Offer drops a comparison. Optional.
	OnDrop func()
	// OnMismatch receives each confirmed mismatch with the session id so the
	// caller can repair it; it must never log or export the id. Optional.
	OnMismatch func(Mismatch)
}

type item struct {
	id    string
	rec   store.Record
	found bool
	due   time.Time
}

// Checker is the online comparator. Its methods are safe for concurrent use.
type Checker struct {
	cfg     Config
	queue   chan item
	recheck chan item
	stop    chan struct{}
	// ctx is the parent of every store read; Close cancels it so that a
	// hanging store cannot hold Close for a whole Timeout.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// New validates cfg and starts the checker's two goroutines; Close stops them.
func New(cfg Config) (*Checker, error) {
	if cfg.Local == nil || cfg.Distributed == nil {
		return nil, errors.New("consistency: Local and Distributed are required")
	}
	if cfg.Queue < 0 || cfg.Delay < 0 || cfg.Timeout < 0 {
		return nil, errors.New("consistency: Queue, Delay and Timeout must not be negative")
	}
	if cfg.Queue == 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.Delay == 0 {
		cfg.Delay = DefaultDelay
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Compare == nil {
		cfg.Compare = bytes.Equal
	}
	c := &Checker{cfg: cfg, queue: make(chan item, cfg.Queue), recheck: make(chan item, cfg.Queue), stop: make(chan struct{})}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Add(2)
	go c.first()
	go c.second()
	return c, nil
}

// Offer queues a comparison of a local read (rec, found) of id. It never
// blocks: a full queue drops the comparison. Data is copied.
func (c *Checker) Offer(id string, rec store.Record, found bool) {
	rec.Data = bytes.Clone(rec.Data)
	select {
	case c.queue <- item{id: id, rec: rec, found: found}:
	default:
		if c.cfg.OnDrop != nil {
			c.cfg.OnDrop()
		}
	}
}

// Close stops the checker; pending comparisons are abandoned.
func (c *Checker) Close() error {
	c.once.Do(func() {
		close(c.stop)
		c.cancel()
		c.wg.Wait()
	})
	return nil
}

func (c *Checker) inFlight(id string) bool {
	return c.cfg.InFlight != nil && c.cfg.InFlight(id)
}

func (c *Checker) result(kind Kind, confirmed bool) {
	if c.cfg.OnResult != nil {
		c.cfg.OnResult(kind, confirmed)
	}
}

// first compares offered reads and schedules re-checks of mismatches.
func (c *Checker) first() {
	defer c.wg.Done()
	for {
		var it item
		select {
		case <-c.stop:
			return
		case it = <-c.queue:
		}
		if c.inFlight(it.id) {
			continue
		}
		d, dfound, err := c.distGet(it.id)
		if err != nil {
			continue // the guard sees distributed errors; nothing to compare
		}
		kind := Compare(c.cfg.Compare, it.rec, it.found, d, dfound)
		if kind == Match {
			c.result(Match, false)
			continue
		}
		it.due = time.Now().Add(c.cfg.Delay)
		select {
		case c.recheck <- it:
		default:
			if c.cfg.OnDrop != nil {
				c.cfg.OnDrop()
			}
		}
	}
}

// second re-reads both stores once a mismatch is due and confirms it if it
// persists.
func (c *Checker) second() {
	defer c.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var it item
		select {
		case <-c.stop:
			return
		case it = <-c.recheck:
		}
		if wait := time.Until(it.due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-c.stop:
				return
			case <-timer.C:
			}
		}
		if c.inFlight(it.id) {
			continue
		}
		// Bracket the distributed read with two local reads: a write that
		// lands in between makes the comparison inconclusive, not a
		// mismatch.
		l, lfound, lerr := c.localGet(it.id)
		if lerr != nil {
			continue
		}
		d, dfound, err := c.distGet(it.id)
		if err != nil {
			continue
		}
		l2, lfound2, lerr := c.localGet(it.id)
		if lerr != nil || !sameRead(l, lfound, l2, lfound2) || c.inFlight(it.id) {
			continue
		}
		kind := Compare(c.cfg.Compare, l, lfound, d, dfound)
		if kind == Match {
			c.result(Match, false)
			continue
		}
		// Routers write local before the distributed store, and a
		// synchronous write is not in flight for InFlight: a write whose
		// local half landed before these reads and whose distributed half
		// had not yet looks exactly like a stale copy. A local copy
		// unchanged since the offered read rules that out: no write has
		// started since, so the pair has been apart for at least Delay.
		if !sameRead(it.rec, it.found, l, lfound) {
			continue
		}
		c.result(kind, true)
		if c.cfg.OnMismatch != nil {
			c.cfg.OnMismatch(Mismatch{ID: it.id, Kind: kind, Local: l, LocalFound: lfound, Distributed: d, DistributedFound: dfound})
		}
	}
}

// sameRead reports whether two local reads saw the same write: versions
// identify writes, and unversioned records are compared by content.
func sameRead(a store.Record, afound bool, b store.Record, bfound bool) bool {
	switch {
	case afound != bfound:
		return false
	case !afound:
		return true
	case a.Version != b.Version:
		return false
	case a.Version == 0:
		return bytes.Equal(a.Data, b.Data) && a.ExpiresAt.Equal(b.ExpiresAt)
	}
	return true
}

func (c *Checker) localGet(id string) (store.Record, bool, error) {
	ctx, cancel := store.WithTimeout(c.ctx, c.cfg.Timeout)
	defer cancel()
	return c.cfg.Local.Get(ctx, id)
}

func (c *Checker) distGet(id string) (store.Record, bool, error) {
	ctx, cancel := store.WithTimeout(c.ctx, c.cfg.Timeout)
	defer cancel()
	return c.cfg.Distributed.Get(ctx, id)
}
