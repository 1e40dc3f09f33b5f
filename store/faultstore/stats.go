package faultstore

// Stats counts the calls of one operation kind and the faults injected into
// them. Counters only grow; compare two Stats to measure an interval.
type Stats struct {
	// Calls is every call received, whatever its outcome. Calls refused
	// because the inner store lacks the capability are not counted.
	Calls uint64
	// Errors is the injected errors returned, ambiguous ones included.
	Errors uint64
	// Ambiguous is the injected errors returned after the call was applied.
	Ambiguous uint64
	// Dropped is the writes acknowledged without being applied.
	Dropped uint64
	// Delayed is the calls delayed by Latency or Jitter, including those
	// whose ctx ended during the delay.
	Delayed uint64
	// Hung is the calls that hung, including those whose ctx ended.
	Hung uint64
}

// Stats returns the counters of op, or zero Stats for an unknown op. Each
// counter is read atomically; the set is not one snapshot while calls are in
// flight.
func (s *Store) Stats(op Op) Stats {
	if !op.Valid() {
		return Stats{}
	}
	st := &s.ops[op]
	return Stats{
		Calls:     st.calls.Load(),
		Errors:    st.errors.Load(),
		Ambiguous: st.ambiguous.Load(),
		Dropped:   st.dropped.Load(),
		Delayed:   st.delayed.Load(),
		Hung:      st.hung.Load(),
	}
}

// TotalStats returns the sum of Stats over every Op.
func (s *Store) TotalStats() Stats {
	var t Stats
	for _, op := range Ops() {
		st := s.Stats(op)
		t.Calls += st.Calls
		t.Errors += st.Errors
		t.Ambiguous += st.Ambiguous
		t.Dropped += st.Dropped
		t.Delayed += st.Delayed
		t.Hung += st.Hung
	}
	return t
}
