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
// so several writes to one session coalesce into one distributed write.
type entry struct {
	kind    opKind
	version uint64
	until   time.Time // tombstone expiry for opDelete
	queued  bool      // sitting in a writer queue
}

const trackerShards = 64

// tracker is the per-instance set of sessions whose distributed copy may be
// older than the local one: async writes not yet applied, distributed writes
// that failed or timed out, lazy copies that failed, stale copies found by a
// read. While a session is tracked, reads serve it from local (invariants 1
// and 2) and the writer repairs it. Safe for concurrent use.
type tracker struct {
	shards [trackerShards]trackerShard
	size   atomic.Int64
}

type trackerShard struct {
	mu sync.RWMutex
	m  map[string]*entry
	_  [40]byte // keep shards on separate cache lines
}

func newTracker() *tracker {
	t := &tracker{}
	for i := range t.shards {
		t.shards[i].m = make(map[string]*entry)
	}
	return t
}

func (t *tracker) shard(id string) *trackerShard {
	return &t.shards[xxhash.Sum64String(id)%trackerShards]
}

// Len returns the number of tracked sessions.
func (t *tracker) Len() int { return int(t.size.Load()) }

// Has reports whether id is tracked. It is the only tracker call on the read
// path and does not allocate.
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

// Lookup returns a copy of the entry of id and whether id is tracked.
func (t *tracker) Lookup(id string) (entry, bool) {
	if t.size.Load() == 0 {
		return entry{}, false
	}
	s := t.shard(id)
	s.mu.RLock()
	e, ok := s.m[id]
	var cp entry
	if ok {
		cp = *e
	}
	s.mu.RUnlock()
	return cp, ok
}

// Mark records that the distributed store may lack write (kind, version) of
// id. An older version than the tracked one only keeps the entry. When queue
// is true and the entry is not queued yet, Mark flags it queued and returns
// true: the caller must then offer id to a writer queue and call Unqueue if
// the queue refuses it.
func (t *tracker) Mark(id string, kind opKind, version uint64, until time.Time, queue bool) (enqueue bool) {
	s := t.shard(id)
	s.mu.Lock()
	e, ok := s.m[id]
	if !ok {
		e = &entry{}
		s.m[id] = e
		t.size.Add(1)
	}
	if version >= e.version {
		e.kind, e.version, e.until = kind, version, until
	}
	if queue && !e.queued {
		e.queued = true
		enqueue = true
	}
	s.mu.Unlock()
	return enqueue
}

// Unqueue clears the queued flag of id (its queue was full, or a writer took
// it). It returns a copy of the entry and whether id is tracked.
func (t *tracker) Unqueue(id string) (entry, bool) {
	s := t.shard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[id]
	if !ok {
		return entry{}, false
	}
	e.queued = false
	return *e, true
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
// loop. The returned ids are flagged queued; the caller must pass each to a
// writer or call Unqueue.
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
