package memstore

import (
	"sync"
	"unsafe"
)

// entry is what a shard stores under an id: a session record or a
// tombstone.
type entry struct {
	// data is never mutated after the entry is stored, so readers may copy
	// it after releasing the shard lock.
	data []byte
	// expiresMs is the absolute expiry (or a tombstone's until) in Unix
	// milliseconds, already truncated.
	expiresMs int64
	version   uint64
	tombstone bool
}

// expired reports whether e has expired at nowMs. Expiry is inclusive: an
// entry whose instant has been reached is gone, matching store.Record.Expired.
func (e entry) expired(nowMs int64) bool { return e.expiresMs <= nowMs }

// blocksSet reports whether e makes a Set at nonzero version v a no-op: a
// higher record version, or a tombstone at an equal or higher version (a
// delete wins a tie).
func (e entry) blocksSet(v uint64) bool {
	if e.tombstone {
		return e.version >= v
	}
	return e.version > v
}

// shardState is the lock and the map it guards.
type shardState struct {
	mu sync.RWMutex
	m  map[string]entry
	// evictions counts unexpired entries removed to make room; guarded by mu.
	evictions uint64
}

// shard pads shardState to a multiple of 128 bytes so neighbouring shards'
// locks never share a cache line (or an adjacent-line prefetch pair).
type shard struct {
	shardState
	_ [128 - unsafe.Sizeof(shardState{})%128]byte
}

// live returns id's entry when it is an unexpired record.
func (sh *shard) live(id string, nowMs int64) (entry, bool) {
	sh.mu.RLock()
	e, ok := sh.m[id]
	sh.mu.RUnlock()
	if !ok || e.tombstone || e.expired(nowMs) {
		return entry{}, false
	}
	return e, true
}

// current returns id's entry unless it is absent or expired. The caller
// holds sh.mu.
func (sh *shard) current(id string, nowMs int64) (e entry, exists, ok bool) {
	e, exists = sh.m[id]
	return e, exists, exists && !e.expired(nowMs)
}

// evictionSample is how many entries eviction looks at: enough to avoid the
// worst choices, few enough to keep a write to a full shard cheap (Redis's
// maxmemory-samples default).
const evictionSample = 5

// makeRoom evicts one entry when the shard holds capacity entries or more.
// The caller holds sh.mu for writing and is about to add a new id.
//
// The victim is taken from a sample drawn by Go's randomized map iteration:
// an expired entry if the sample has one, else the tombstone that expires
// soonest, else the record that expires soonest. Tombstones go first because
// losing one only matters if a stale write arrives before its until, while
// losing a live record logs its user out for certain.
func (sh *shard) makeRoom(capacity int, nowMs int64) {
	if capacity <= 0 || len(sh.m) < capacity {
		return
	}
	var (
		victim  string
		best    entry
		chosen  bool
		expired bool
		seen    int
	)
	for id, e := range sh.m {
		if e.expired(nowMs) {
			victim, expired, chosen = id, true, true
			break
		}
		if !chosen || evictsBefore(e, best) {
			victim, best, chosen = id, e, true
		}
		if seen++; seen == evictionSample {
			break
		}
	}
	if !chosen {
		return
	}
	delete(sh.m, victim)
	if !expired {
		sh.evictions++
	}
}

// evictsBefore reports whether a is a better eviction victim than b.
func evictsBefore(a, b entry) bool {
	if a.tombstone != b.tombstone {
		return a.tombstone
	}
	return a.expiresMs < b.expiresMs
}
