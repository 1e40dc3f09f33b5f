package storetest

import (
	"math/rand/v2"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

var basicTests = []test{
	{"MissIsNotAnError", testMiss},
	{"RoundTrip", testRoundTrip},
	{"Overwrite", testOverwrite},
	{"DeleteMissing", testDeleteMissing},
	{"Delete", testDelete},
	{"EmptyValue", testEmptyValue},
	{"NilValue", testNilValue},
	{"LargeValue", testLargeValue},
	{"SetKeepsNoAlias", testSetKeepsNoAlias},
	{"GetReturnsCopy", testGetReturnsCopy},
}

func testMiss(h *harness) {
	rec, found, err := h.s.Get(h.ctx, "never-stored")
	if err != nil {
		h.Fatalf("Get(never stored) error = %v, want nil", err)
	}
	if found {
		h.Fatalf("Get(never stored): found = true (record %s), want false", describe(rec))
	}
}

func testRoundTrip(h *harness) {
	want := h.rec("session-data\x00\xff", time.Hour, 0)
	h.set("id", want)
	h.mustGet("id", want)
	h.mustGet("id", want) // a read changes nothing
}

func testOverwrite(h *harness) {
	h.set("id", h.rec("the first, longer value", 2*time.Hour, 0))
	// Shorter data and an earlier expiry: a store that appends or keeps the
	// later expiry fails.
	want := h.rec("second", time.Hour, 0)
	h.set("id", want)
	h.mustGet("id", want)
}

func testDeleteMissing(h *harness) {
	h.del("never-stored")
	h.mustMiss("never-stored", "Delete")
}

func testDelete(h *harness) {
	h.set("id", h.rec("data", time.Hour, 0))
	other := h.rec("other", time.Hour, 0)
	h.set("other", other)
	h.del("id")
	h.mustMiss("id", "Delete")
	h.del("id") // again: still not an error
	h.mustGet("other", other)
}

func testEmptyValue(h *harness) {
	want := store.Record{Data: []byte{}, ExpiresAt: h.now().Add(time.Hour)}
	h.set("id", want)
	got := h.mustGet("id", want)
	if len(got.Data) != 0 {
		h.Fatalf("Get: len(Data) = %d, want 0", len(got.Data))
	}
}

func testNilValue(h *harness) {
	want := store.Record{ExpiresAt: h.now().Add(time.Hour)}
	h.set("id", want)
	h.mustGet("id", want)
}

func testLargeValue(h *harness) {
	data := make([]byte, 1<<20)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(data)
	want := store.Record{Data: data, ExpiresAt: h.now().Add(time.Hour), Version: 0}
	h.set("id", want)
	h.mustGet("id", want)
}

// testSetKeepsNoAlias: a caller may reuse its buffer after Set returns.
func testSetKeepsNoAlias(h *harness) {
	data := []byte("original")
	rec := store.Record{Data: data, ExpiresAt: h.now().Add(time.Hour)}
	h.set("id", rec)
	copy(data, "MUTATED!")
	h.mustGet("id", store.Record{Data: []byte("original"), ExpiresAt: rec.ExpiresAt})
}

// testGetReturnsCopy: a caller may modify what Get returned.
func testGetReturnsCopy(h *harness) {
	want := h.rec("original", time.Hour, 0)
	h.set("id", want)
	got := h.mustGet("id", want)
	copy(got.Data, "MUTATED!")
	h.mustGet("id", want)
}
