package storetest

import (
	"fmt"
	"time"
)

var versionedTests = []test{
	{"CompareAndSet", testCompareAndSet},
	{"OnMissingID", testVersionedOnMissingID},
	{"PastExpiryIsCompareAndDelete", testPastExpiryCompareAndDelete},
}

// testCompareAndSet: a versioned Set applies unless a higher version is
// stored; an unversioned one always applies and stores version 0.
func testCompareAndSet(h *harness) {
	h.versioned()
	cases := []struct {
		name          string
		stored, write uint64
		applied       bool
	}{
		{"lower version ignored", 5, 4, false},
		{"version 1 under higher ignored", 5, 1, false},
		{"equal version applied", 5, 5, true},
		{"higher version applied", 5, 6, true},
		{"max uint64 applied", 5, ^uint64(0), true},
		// Versions beyond 2^53 must compare exactly (no float64 rounding,
		// as in Redis Lua numbers): nanosecond-based versions are that big.
		{"large lower version ignored", 1<<60 + 1, 1 << 60, false},
		{"large higher version applied", 1 << 60, 1<<60 + 1, true},
		{"versioned over unversioned applied", 0, 1, true},
		{"unversioned over versioned applied", 5, 0, true},
		{"unversioned over unversioned applied", 0, 0, true},
	}
	for i, tc := range cases {
		id := fmt.Sprintf("id-%d", i)
		old := h.rec("old", 2*time.Hour, tc.stored)
		h.set(id, old)
		h.mustGet(id, old)
		next := h.rec("new", time.Hour, tc.write)
		h.set(id, next)
		got, found := h.get(id)
		if !found {
			h.Errorf("%s: Get: found = false, want true", tc.name)
			continue
		}
		want := old
		if tc.applied {
			want = next
		}
		checkRecord(h.T, tc.name, got, want)
	}
}

func testVersionedOnMissingID(h *harness) {
	h.versioned()
	want := h.rec("data", time.Hour, 7)
	h.set("id", want)
	h.mustGet("id", want)
}

// testPastExpiryIsCompareAndDelete: a versioned Set with a past expiry
// deletes under the compare rules and leaves no tombstone behind.
func testPastExpiryCompareAndDelete(h *harness) {
	h.versioned()
	cases := []struct {
		name          string
		stored, write uint64
		deleted       bool
	}{
		{"lower version ignored", 5, 4, false},
		{"equal version deletes", 5, 5, true},
		{"higher version deletes", 5, 6, true},
		{"unversioned deletes", 5, 0, true},
	}
	for i, tc := range cases {
		id := fmt.Sprintf("id-%d", i)
		live := h.rec("live", time.Hour, tc.stored)
		h.set(id, live)
		h.set(id, h.rec("past", -time.Second, tc.write))
		got, found := h.get(id)
		if !tc.deleted {
			if !found {
				h.Errorf("%s: Get: found = false, want the stored version %d kept", tc.name, tc.stored)
				continue
			}
			checkRecord(h.T, tc.name, got, live)
			continue
		}
		if found {
			h.Errorf("%s: Get: found = true (record %s), want false", tc.name, describe(got))
			continue
		}
		// No tombstone: an older versioned write goes through.
		older := h.rec("older", time.Hour, 1)
		h.set(id, older)
		if got, found := h.get(id); !found {
			h.Errorf("%s: Set(version 1) after the compare-and-delete was ignored, want applied (no tombstone)", tc.name)
		} else {
			checkRecord(h.T, tc.name+": Set after compare-and-delete", got, older)
		}
	}
}
