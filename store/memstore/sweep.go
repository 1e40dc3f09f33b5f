package memstore

import "time"

// Sweep removes every expired record and tombstone and returns how many it
// removed. The background sweeper calls it every sweep interval; tests with a
// fake clock call it directly. Expired entries are invisible to readers
// whether or not they have been swept, so Sweep only reclaims memory.
//
// Each shard is first searched under its read lock and then locked for
// writing only to delete what was found, so Gets are not stalled by the
// search. Sweep is safe to call concurrently with every other method and
// returns 0 after Close.
func (s *Store) Sweep() int {
	if s.closed.Load() {
		return 0
	}
	nowMs := s.now().UnixMilli()
	removed := 0
	var ids []string
	for i := range s.shards {
		sh := &s.shards[i]
		ids = ids[:0]
		sh.mu.RLock()
		for id, e := range sh.m {
			if e.expired(nowMs) {
				ids = append(ids, id)
			}
		}
		sh.mu.RUnlock()
		if len(ids) == 0 {
			continue
		}
		sh.mu.Lock()
		for _, id := range ids {
			// Re-check: the id may have been rewritten since the search.
			if e, ok := sh.m[id]; ok && e.expired(nowMs) {
				delete(sh.m, id)
				removed++
			}
		}
		sh.mu.Unlock()
	}
	return removed
}

// sweepLoop runs Sweep every interval until Close.
func (s *Store) sweepLoop(interval time.Duration) {
	defer close(s.done)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-ticker.C:
			s.Sweep()
		}
	}
}
