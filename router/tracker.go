package router

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
)

// opKind is the last write the distributed store has not confirmed.
type opKind uint8

const (
	opSet opKind = iota + 1
	opDelete
)

// entry is what the tracker remembers about an unsynced session: the newest
// write the distributed store may lack. It holds no session data: the writer
// reads the current record from the local store when it applies the entry,
// so several writes to one session coalesce into one distributed write. It
// is kept by value in the shard map: 24 bytes.
type entry struct {
	version uint64
	untilMs int64 // tombstone expiry for opDelete, Unix ms (0: none known)
	kind    opKind
	queued  bool // sitting in a writer queue or being applied
}

// until returns the tombstone expiry of an opDelete entry.
func (e entry) until() time.Time {
	if e.untilMs == 0 {
		return time.Time{}
	}
	return time.UnixMilli(e.untilMs)
}

const trackerShards = 64

// tracker is the per-instance set of sessions whose distributed copy may be
// older than the local one: async writes not yet applied, distributed writes
// that failed or timed out, lazy copies that failed, stale copies found by a
// read. While a session is tracked, reads serve it from local (invariants 1,
// 2 and 10) and the writer repairs it. It holds at most max sessions (see
// Config.MaxUnsynced). Safe for concurrent use.
//
// Memory: a tracked session costs its map slot (the 16-byte id header and
// the 24-byte entry, with the map's control bytes and load factor about 65
// bytes; TestTrackerMemoryPerSession measures it) plus the id's bytes
// rounded up to Go's allocation size class (48 for a 43-byte scs token).
type tracker struct {
	shards [trackerShards]trackerShard
	size   atomic.Int64
	max    int64
	// overflows counts sets left untracked for want of room; reconciled is
	// the value of overflows a completed reconciliation pass started from.
	overflows, reconciled atomic.Uint64
}

type trackerShard struct {
	mu sync.RWMutex
	m  map[string]entry
	_  [40]byte // keep shards on separate cache lines
}

func newTracker(max int) *tracker {
	t := &tracker{max: int64(max)}
	for i := range t.shards {
		t.shards[i].m = make(map[string]entry)
	}
	return t
}

func (t *tracker) shard(id string) *trackerShard {
	return &t.shards[xxhash.Sum64String(id)%trackerShards]
}

// Len returns the number of tracked sessions.
func (t *tracker) Len() int { return int(t.size.Load()) }

// Overflowed reports whether a set went untracked (NoteOverflow) after the
// start of the last completed reconciliation pass.
func (t *tracker) Overflowed() bool { return t.overflows.Load() != t.reconciled.Load() }

// NoteOverflow records a set the tracker had no room for.
func (t *tracker) NoteOverflow() { t.overflows.Add(1) }

// Generation returns the overflow count a reconciliation pass starts from.
func (t *tracker) Generation() uint64 { return t.overflows.Load() }

// Reconciled records that a pass which started at generation gen copied
// every local session: overflows up to gen are covered.
func (t *tracker) Reconciled(gen uint64) {
	for {
		cur := t.reconciled.Load()
		if gen <= cur || t.reconciled.CompareAndSwap(cur, gen) {
			return
		}
	}
}

// Has reports whether id is tracked. It is the only tracker call on the read
// path of most stages and does not allocate.
func (t *tracker) Has(id string) bool {
	if t.size.Load() == 0 {
		return false
	}
	s := t.shard(id)
	s.mu.RLock()
	_, ok := s.m[id]
	s.mu.RUnlock()
	return ok
}

// Lookup returns the entry of id and whether id is tracked.
func (t *tracker) Lookup(id string) (entry, bool) {
	if t.size.Load() == 0 {
		return entry{}, false
	}
	s := t.shard(id)
	s.mu.RLock()
	e, ok := s.m[id]
	s.mu.RUnlock()
	return e, ok
}

// markResult says what Mark did.
type markResult uint8

const (
	markTracked markResult = iota // tracked (or already queued)
	markQueue                     // tracked; the caller must offer id to a writer queue
	markFull                      // not tracked: the tracker is full
)

// Mark records that the distributed store may lack write (kind, version) of
// id. An older version than the tracked one only keeps the entry. When queue
// is true and the entry is not queued yet, Mark flags it queued and returns
// markQueue: the caller must then offer id to a writer queue and call
// Unqueue if the queue refuses it. A new id finds no room when the tracker
// holds max sessions: Mark returns markFull and tracks nothing.
func (t *tracker) Mark(id string, kind opKind, version uint64, until time.Time, queue bool) markResult {
	var untilMs int64
	if !until.IsZero() {
		untilMs = until.UnixMilli()
	}
	s := t.shard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[id]
	if !ok {
		if t.size.Add(1) > t.max {
			t.size.Add(-1)
			return markFull
		}
	}
	if version >= e.version {
		e.kind, e.version, e.untilMs = kind, version, untilMs
	}
	res := markTracked
	if queue && !e.queued {
		e.queued = true
		res = markQueue
	}
	s.m[id] = e
	return res
}

// Unqueue clears the queued flag of id (its queue was full, or a writer took
// it). It returns the entry and whether id is tracked.
func (t *tracker) Unqueue(id string) (entry, bool) {
	s := t.shard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[id]
	if !ok {
		return entry{}, false
	}
	e.queued = false
	s.m[id] = e
	return e, true
}

// Clear forgets id if the distributed store now holds version or newer of it
// (an applied write at version covers every tracked write up to version).
func (t *tracker) Clear(id string, version uint64) {
	if t.size.Load() == 0 {
		return
	}
	s := t.shard(id)
	s.mu.Lock()
	if e, ok := s.m[id]; ok && e.version <= version && !e.queued {
		delete(s.m, id)
		t.size.Add(-1)
	}
	s.mu.Unlock()
}

// Pending returns up to max tracked ids that are not queued, for the repair
// loop. The returned ids are flagged queued; the caller must apply each or
// call Unqueue.
func (t *tracker) Pending(max int) []string {
	if t.size.Load() == 0 || max <= 0 {
		return nil
	}
	var ids []string
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for id, e := range s.m {
			if len(ids) == max {
				break
			}
			if !e.queued {
				e.queued = true
				s.m[id] = e
				ids = append(ids, id)
			}
		}
		s.mu.Unlock()
		if len(ids) == max {
			break
		}
	}
	return ids
}
