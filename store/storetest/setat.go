package storetest

import (
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// setAtTests run only on stores that implement store.SetterAt. All but
// StoresLive pass a clock reading far from the store's own, so a store that
// ignored it fails them.
var setAtTests = []test{
	{"StoresLive", testSetAtStoresLive},
	{"ExpiredAtNowDeletes", testSetAtExpiredDeletes},
	{"ZeroExpiryFromNow", testSetAtZeroExpiry},
	{"ExpiryWithinNowsMillisecond", testSetAtSameMillisecond},
}

func (h *harness) setAt(id string, rec store.Record, now time.Time) {
	h.Helper()
	if err := h.setterAt().SetAt(h.ctx, id, rec, now); err != nil {
		h.Fatalf("SetAt(%s, version %d, now %v) = %v, want nil", label(id), rec.Version, now, err)
	}
}

// testSetAtStoresLive: a record live at the given now (an earlier one, so it
// is live by the store's clock too) is stored.
func testSetAtStoresLive(h *harness) {
	rec := h.rec("live", time.Hour, 0)
	h.setAt("a", rec, h.now().Add(-time.Minute))
	h.mustGet("a", rec)
}

// testSetAtExpiredDeletes: a record that expired at the given now deletes,
// though the store's own clock says it is live for another hour.
func testSetAtExpiredDeletes(h *harness) {
	h.setterAt()
	h.set("a", h.rec("old", time.Hour, 0))
	rec := h.rec("new", time.Hour, 0)
	h.setAt("a", rec, rec.ExpiresAt.Add(time.Second))
	h.mustMiss("a", "SetAt with a now past the record's ExpiresAt")
}

// testSetAtZeroExpiry: a zero ExpiresAt becomes MaxTTL from the given now,
// not from the store's clock.
func testSetAtZeroExpiry(h *harness) {
	now := h.now().Add(-h.cfg.MaxTTL / 2)
	h.setAt("a", store.Record{Data: []byte("zero")}, now)
	h.mustGet("a", store.Record{Data: []byte("zero"), ExpiresAt: now.Add(h.cfg.MaxTTL)})
}

// testSetAtSameMillisecond: stores keep expiry to the millisecond, so a record
// expiring later within now's millisecond has expired (Record.Expired says
// so, and the store must agree with it).
func testSetAtSameMillisecond(h *harness) {
	h.setterAt()
	h.set("a", h.rec("old", time.Hour, 0))
	now := h.now().Add(time.Minute).Truncate(time.Millisecond).Add(200 * time.Microsecond)
	rec := store.Record{Data: []byte("new"), ExpiresAt: now.Add(500 * time.Microsecond)}
	if !rec.Expired(now) {
		h.Fatalf("Record.Expired: ExpiresAt %v at now %v = false, want true (same millisecond)", rec.ExpiresAt, now)
	}
	h.setAt("a", rec, now)
	h.mustMiss("a", "SetAt of a record expiring within now's millisecond")
}
