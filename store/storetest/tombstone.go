package storetest

import (
	"fmt"
	"strconv"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

var tombstoneTests = []test{
	{"RemovesAndBlocksOlderAndEqual", testTombstoneBlocks},
	{"OverLowerRecord", testTombstoneOverLowerRecord},
	{"OnMissingID", testTombstoneOnMissingID},
	{"LowerThanRecordIsNoOp", testTombstoneLowerThanRecord},
	{"LowerThanTombstoneIsNoOp", testTombstoneLowerThanTombstone},
	{"HigherReplacesTombstone", testTombstoneHigherReplaces},
	{"ExpiresAtUntil", testTombstoneExpires},
	{"ZeroUntilIsMaxTTL", testTombstoneZeroUntil},
	{"PastUntilLeavesNoTombstone", testTombstonePastUntil},
	{"DeleteRemovesTombstone", testDeleteRemovesTombstone},
	{"UnversionedSetOverwritesTombstone", testUnversionedOverTombstone},
	{"TombstoneReader", testTombstoneReader},
	{"TombstoneScanner", testTombstoneScanner},
}

// testTombstoneScanner: ScanTombstones lists exactly the unexpired
// tombstones, each once, at their versions.
func testTombstoneScanner(h *harness) {
	h.versioned()
	ts := capability[store.TombstoneScanner](h)
	h.set("live", h.rec("data", time.Hour, 3))
	h.set("deleted", h.rec("data", time.Hour, 3))
	h.deleteVersion("deleted", 4, h.now().Add(time.Hour))
	h.deleteVersion("never-stored", 7, h.now().Add(time.Hour))
	h.deleteVersion("no-tombstone", 5, h.now().Add(-time.Second))
	want := map[string]uint64{"deleted": 4, "never-stored": 7}
	if h.fake() {
		h.deleteVersion("short", 9, h.now().Add(time.Minute))
		h.advance(time.Minute)
	}
	got := map[string]uint64{}
	err := ts.ScanTombstones(h.ctx, func(id string, version uint64) error {
		if _, dup := got[id]; dup {
			h.Errorf("ScanTombstones visited %s twice", label(id))
		}
		got[id] = version
		return nil
	})
	if err != nil {
		h.Fatalf("ScanTombstones: %v", err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		h.Fatalf("ScanTombstones: got %v, want %v", got, want)
	}
}

// testTombstoneReader: a store that reports tombstones reports exactly the
// unexpired ones, at their version.
func testTombstoneReader(h *harness) {
	h.versioned()
	tr := capability[store.TombstoneReader](h)
	check := func(id string, want uint64, wantFound bool, when string) {
		h.Helper()
		v, found, err := tr.Tombstone(h.ctx, id)
		if err != nil || found != wantFound || v != want {
			h.Fatalf("Tombstone(%s) %s: got %d, %v, %v; want %d, %v, nil", label(id), when, v, found, err, want, wantFound)
		}
	}
	check("id", 0, false, "of a missing id")
	h.set("id", h.rec("data", time.Hour, 5))
	check("id", 0, false, "of a live record")
	until := h.now().Add(shortTTL).Truncate(time.Millisecond)
	h.deleteVersion("id", 6, until)
	check("id", 6, true, "after DeleteVersion(6)")
	if h.fake() {
		h.advance(until.Sub(h.now()))
		check("id", 0, false, "once its until passed")
	}
	h.del("id")
	check("id", 0, false, "after Delete")
}

// mustIgnore checks that a versioned Set at version is a no-op on a
// tombstoned id.
func (h *harness) mustIgnore(id string, version uint64, why string) {
	h.Helper()
	h.set(id, h.rec("resurrected", time.Hour, version))
	h.mustMiss(id, "a Set at version "+strconv.FormatUint(version, 10)+" "+why)
}

// mustApply checks that a versioned Set at version goes through.
func (h *harness) mustApply(id string, version uint64) {
	h.Helper()
	want := h.rec("applied", time.Hour, version)
	h.set(id, want)
	h.mustGet(id, want)
}

func testTombstoneBlocks(h *harness) {
	h.versioned()
	h.set("id", h.rec("data", time.Hour, 5))
	h.deleteVersion("id", 5, h.now().Add(time.Hour))
	h.mustMiss("id", "DeleteVersion(5)")
	h.mustIgnore("id", 4, "under a tombstone at 5")
	h.mustIgnore("id", 5, "under a tombstone at 5 (a delete wins a tie)")
	h.mustApply("id", 6)
}

func testTombstoneOverLowerRecord(h *harness) {
	h.versioned()
	h.set("id", h.rec("data", time.Hour, 3))
	h.deleteVersion("id", 5, h.now().Add(time.Hour))
	h.mustMiss("id", "DeleteVersion(5) over version 3")
	h.mustIgnore("id", 4, "under a tombstone at 5")
	h.mustApply("id", 6)
}

func testTombstoneOnMissingID(h *harness) {
	h.versioned()
	h.deleteVersion("id", 5, h.now().Add(time.Hour))
	h.mustMiss("id", "DeleteVersion(5) of a missing id")
	h.mustIgnore("id", 5, "under a tombstone at 5")
	h.mustApply("id", 6)
}

func testTombstoneLowerThanRecord(h *harness) {
	h.versioned()
	want := h.rec("data", time.Hour, 5)
	h.set("id", want)
	h.deleteVersion("id", 3, h.now().Add(time.Hour))
	h.mustGet("id", want)
	h.deleteVersion("id", 4, time.Time{})
	h.mustGet("id", want)
}

func testTombstoneLowerThanTombstone(h *harness) {
	h.versioned()
	h.deleteVersion("id", 5, h.now().Add(time.Hour))
	h.deleteVersion("id", 3, h.now().Add(time.Hour))
	h.mustIgnore("id", 4, "after DeleteVersion(5) then DeleteVersion(3)")
	h.mustApply("id", 6)
}

func testTombstoneHigherReplaces(h *harness) {
	h.versioned()
	h.deleteVersion("id", 5, h.now().Add(time.Hour))
	h.deleteVersion("id", 7, h.now().Add(time.Hour))
	h.mustIgnore("id", 6, "under a tombstone at 7")
	h.mustIgnore("id", 7, "under a tombstone at 7")
	h.mustApply("id", 8)
}

// testTombstoneExpires: the tombstone blocks older Sets until `until`, and
// not after.
func testTombstoneExpires(h *harness) {
	h.versioned()
	h.set("id", h.rec("data", time.Hour, 5))
	until := h.now().Add(shortTTL).Truncate(time.Millisecond)
	h.deleteVersion("id", 5, until)
	h.mustMiss("id", "DeleteVersion(5)")
	if h.fake() {
		h.advance(until.Sub(h.now()) - time.Millisecond)
		h.mustIgnore("id", 4, "one millisecond before the tombstone's until")
		h.advance(until.Sub(h.now()))
		h.mustApply("id", 4)
		return
	}
	older := h.rec("older", time.Hour, 4)
	h.poll("the tombstone to expire", until, func() bool {
		h.set("id", older)
		setDone := h.now() // the Set ran no later than this
		got, found := h.get("id")
		if !found {
			return false
		}
		if setDone.Before(until.Add(-skew)) {
			h.Fatalf("Set(version 4), done by %v, was applied under a tombstone at 5 live until %v", setDone, until)
		}
		checkRecord(h.T, "Get after the tombstone expired", got, older)
		return true
	})
}

func testTombstoneZeroUntil(h *harness) {
	h.versioned()
	h.set("id", h.rec("data", time.Hour, 5))
	start := h.now()
	h.deleteVersion("id", 5, time.Time{})
	h.mustMiss("id", "DeleteVersion(5, zero until)")
	h.mustIgnore("id", 4, "under a tombstone with zero until (MaxTTL)")
	if !h.fake() {
		return // waiting MaxTTL in real time is not an option
	}
	// The tombstone lives until start+MaxTTL, truncated to the millisecond.
	end := start.Add(h.cfg.MaxTTL).Truncate(time.Millisecond)
	h.advance(end.Sub(h.now()) - time.Millisecond)
	h.mustIgnore("id", 4, "one millisecond before MaxTTL passed")
	h.advance(end.Sub(h.now()))
	h.mustApply("id", 4)
}

func testTombstonePastUntil(h *harness) {
	h.versioned()
	h.set("id", h.rec("data", time.Hour, 5))
	h.deleteVersion("id", 5, h.now().Add(-time.Second))
	h.mustMiss("id", "DeleteVersion(5, past until)")
	h.mustApply("id", 4) // no tombstone was left

	// The compare rule still holds: a higher stored version survives.
	want := h.rec("newer", time.Hour, 7)
	h.set("other", want)
	h.deleteVersion("other", 5, h.now().Add(-time.Second))
	h.mustGet("other", want)
}

func testDeleteRemovesTombstone(h *harness) {
	h.versioned()
	h.deleteVersion("id", 5, h.now().Add(time.Hour))
	h.del("id")
	h.mustApply("id", 3)
}

// testUnversionedOverTombstone: version 0 overwrites unconditionally, and
// the stored version is then 0, so a later low versioned Set applies.
func testUnversionedOverTombstone(h *harness) {
	h.versioned()
	h.deleteVersion("id", 5, h.now().Add(time.Hour))
	want := store.Record{Data: []byte("unversioned"), ExpiresAt: h.now().Add(time.Hour)}
	h.set("id", want)
	h.mustGet("id", want)
	h.mustApply("id", 3)
}
