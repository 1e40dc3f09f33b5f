package storetest

import (
	"errors"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

var latestTests = []test{
	{"StoresItsVersionOverNothing", testLatestOverNothing},
	{"StoresAboveHigherRecord", testLatestAboveRecord},
	{"StoresAboveTombstone", testLatestAboveTombstone},
	{"KeepsHigherVersion", testLatestKeepsHigher},
	{"ExactAboveFloat53", testLatestLargeVersions},
	{"RefusesPastAndOutOfRangeExpiry", testLatestRefusesExpiry},
	{"DeleteStoresAbove", testDeleteLatestAbove},
	{"DeleteUntilRecordExpiry", testDeleteLatestRecordExpiry},
	{"DeleteFallbackWithoutRecord", testDeleteLatestFallback},
	{"DeletePastUntilLeavesNoTombstone", testDeleteLatestPastUntil},
	{"VersionSpaceExhausted", testLatestExhausted},
}

func (h *harness) latest() store.LatestWriter { return capability[store.LatestWriter](h) }

func (h *harness) setLatest(id string, rec store.Record) uint64 {
	h.Helper()
	v, err := h.latest().SetLatest(h.ctx, id, rec)
	if err != nil {
		h.Fatalf("SetLatest(%s, version %d) = %v, want nil", label(id), rec.Version, err)
	}
	return v
}

func (h *harness) deleteLatest(id string, version uint64, until, fallback time.Time) uint64 {
	h.Helper()
	v, err := h.latest().DeleteLatest(h.ctx, id, version, until, fallback)
	if err != nil {
		h.Fatalf("DeleteLatest(%s, %d) = %v, want nil", label(id), version, err)
	}
	return v
}

func (h *harness) wantVersion(what string, got, want uint64) {
	h.Helper()
	if got != want {
		h.Fatalf("%s returned version %d, want %d", what, got, want)
	}
}

func testLatestOverNothing(h *harness) {
	h.versioned()
	rec := h.rec("data", time.Hour, 7)
	h.wantVersion("SetLatest(7) on a missing id", h.setLatest("id", rec), 7)
	h.mustGet("id", rec)
}

// testLatestAboveRecord: a write carrying a lower version than the stored
// one (a writer with a slower clock) still wins, one above.
func testLatestAboveRecord(h *harness) {
	h.versioned()
	h.set("id", h.rec("first", time.Hour, 10))
	for _, v := range []uint64{3, 10} {
		rec := h.rec("later", time.Hour, v)
		got := h.setLatest("id", rec)
		stored, _ := h.get("id")
		h.wantVersion("SetLatest over a higher or equal record", got, stored.Version)
		rec.Version = got
		h.mustGet("id", rec)
	}
	if got, _ := h.get("id"); got.Version != 12 {
		h.Fatalf("after two SetLatest over version 10: version %d, want 12", got.Version)
	}
	// A copy at the version it displaced is now refused.
	h.set("id", h.rec("stale copy", time.Hour, 11))
	if got, _ := h.get("id"); string(got.Data) != "later" {
		h.Fatalf("a versioned Set at 11 replaced the SetLatest at 12: data %s", show(got.Data))
	}
}

// testLatestAboveTombstone: a request-path write after a delete that
// carries a higher version still lands (arrival order), above the tombstone.
func testLatestAboveTombstone(h *harness) {
	h.versioned()
	h.deleteVersion("id", 20, h.now().Add(time.Hour))
	rec := h.rec("after logout", time.Hour, 5)
	h.wantVersion("SetLatest(5) over a tombstone at 20", h.setLatest("id", rec), 21)
	rec.Version = 21
	h.mustGet("id", rec)
}

func testLatestKeepsHigher(h *harness) {
	h.versioned()
	h.set("id", h.rec("old", time.Hour, 4))
	rec := h.rec("new", time.Hour, 9)
	h.wantVersion("SetLatest(9) over version 4", h.setLatest("id", rec), 9)
	h.mustGet("id", rec)
}

func testLatestLargeVersions(h *harness) {
	h.versioned()
	h.set("id", h.rec("old", time.Hour, 1<<60+5))
	h.wantVersion("SetLatest over 2^60+5", h.setLatest("id", h.rec("new", time.Hour, 1)), 1<<60+6)
	h.set("nines", h.rec("old", time.Hour, 9999999999999999999))
	h.wantVersion("SetLatest over 9999999999999999999 (a carry through every digit)",
		h.setLatest("nines", h.rec("new", time.Hour, 1)), 10000000000000000000)
}

func testLatestRefusesExpiry(h *harness) {
	h.versioned()
	keep := h.rec("kept", time.Hour, 3)
	h.set("id", keep)
	for _, tc := range []struct {
		name string
		exp  time.Time
	}{
		{"an hour ago", h.now().Add(-time.Hour)},
		{"after MaxExpiresAt", store.MaxExpiresAt.Add(time.Millisecond)},
		{"year 200000", time.Date(200000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		_, err := h.latest().SetLatest(h.ctx, "id", store.Record{Data: []byte("x"), ExpiresAt: tc.exp, Version: 9})
		if !errors.Is(err, store.ErrExpiry) {
			h.Errorf("SetLatest with expiry %s: error %v, want one wrapping store.ErrExpiry", tc.name, err)
		}
		_, err = h.latest().DeleteLatest(h.ctx, "id", 9, tc.exp, time.Time{})
		if tc.exp.After(store.MaxExpiresAt) && !errors.Is(err, store.ErrExpiry) {
			h.Errorf("DeleteLatest with until %s: error %v, want one wrapping store.ErrExpiry", tc.name, err)
		}
		if !tc.exp.After(store.MaxExpiresAt) {
			// A past until deletes without a tombstone: put the record back.
			h.set("id", keep)
		}
		h.mustGet("id", keep)
	}
}

func testDeleteLatestAbove(h *harness) {
	h.versioned()
	h.set("id", h.rec("data", time.Hour, 10))
	h.wantVersion("DeleteLatest(3) over version 10", h.deleteLatest("id", 3, h.now().Add(time.Hour), time.Time{}), 11)
	h.mustMiss("id", "DeleteLatest")
	h.mustIgnore("id", 10, "under the tombstone DeleteLatest left at 11")
	h.mustIgnore("id", 11, "under the tombstone DeleteLatest left at 11 (a delete wins a tie)")
	h.mustApply("id", 12)
	h.wantVersion("DeleteLatest(40) over version 12", h.deleteLatest("id", 40, h.now().Add(time.Hour), time.Time{}), 40)
	h.mustIgnore("id", 39, "under a tombstone at 40")
}

// testDeleteLatestRecordExpiry: with a zero until the tombstone lasts as
// long as the session it deletes (its own expiry), not a fixed TTL.
func testDeleteLatestRecordExpiry(h *harness) {
	h.versioned()
	rec := h.rec("data", shortTTL, 5)
	h.set("id", rec)
	until := rec.ExpiresAt.Truncate(time.Millisecond)
	h.deleteLatest("id", 6, time.Time{}, h.now().Add(time.Hour))
	h.mustMiss("id", "DeleteLatest")
	h.tombstoneLastsUntil("id", 6, until)
}

// testDeleteLatestFallback: with a zero until and nothing stored, the
// tombstone lasts until fallback.
func testDeleteLatestFallback(h *harness) {
	h.versioned()
	until := h.now().Add(shortTTL).Truncate(time.Millisecond)
	h.deleteLatest("id", 6, time.Time{}, until)
	h.tombstoneLastsUntil("id", 6, until)
}

func testDeleteLatestPastUntil(h *harness) {
	h.versioned()
	h.set("id", h.rec("data", time.Hour, 5))
	h.deleteLatest("id", 6, h.now().Add(-time.Second), time.Time{})
	h.mustMiss("id", "DeleteLatest with a past until")
	h.mustApply("id", 2) // no tombstone was left
}

func testLatestExhausted(h *harness) {
	h.versioned()
	keep := h.rec("max", time.Hour, ^uint64(0))
	h.set("id", keep)
	if _, err := h.latest().SetLatest(h.ctx, "id", h.rec("over", time.Hour, 1)); err == nil {
		h.Error("SetLatest over version 2^64-1 = nil, want an error (no version above it)")
	}
	if _, err := h.latest().DeleteLatest(h.ctx, "id", 1, time.Time{}, time.Time{}); err == nil {
		h.Error("DeleteLatest over version 2^64-1 = nil, want an error (no version above it)")
	}
	h.mustGet("id", keep)
}

// tombstoneLastsUntil checks that id holds a tombstone at version that
// blocks older Sets until until, and not after.
func (h *harness) tombstoneLastsUntil(id string, version uint64, until time.Time) {
	h.Helper()
	if h.fake() {
		h.advance(until.Sub(h.now()) - time.Millisecond)
		h.mustIgnore(id, version-1, "one millisecond before the tombstone's until")
		h.advance(until.Sub(h.now()))
		h.mustApply(id, version-1)
		return
	}
	older := h.rec("older", time.Hour, version-1)
	h.poll("the tombstone to expire", until, func() bool {
		h.set(id, older)
		setDone := h.now()
		got, found := h.get(id)
		if !found {
			return false
		}
		if setDone.Before(until.Add(-skew)) {
			h.Fatalf("Set(version %d), done by %v, was applied under a tombstone at %d live until %v", version-1, setDone, version, until)
		}
		checkRecord(h.T, "Get after the tombstone expired", got, older)
		return true
	})
}
