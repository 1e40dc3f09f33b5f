package storetest

import (
	"errors"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

var expiryTests = []test{
	{"PastStoresNothing", testPastStoresNothing},
	{"PastDeletesExisting", testPastDeletesExisting},
	{"ZeroGetsMaxTTL", testZeroGetsMaxTTL},
	{"PreservedToMillisecond", testPreservedToMillisecond},
	{"NotExtendedByReads", testNotExtendedByReads},
	{"Enforced", testExpiryEnforced},
}

// pastInstant is an expiry that is not after the store's clock.
type pastInstant struct {
	name string
	at   func(now time.Time) time.Time
	// fakeOnly marks instants that are only "not after now" when the clock
	// stands still between computing them and the Set.
	fakeOnly bool
}

var pastInstants = []pastInstant{
	{name: "now", at: func(now time.Time) time.Time { return now }, fakeOnly: true},
	{name: "one millisecond ago", at: func(now time.Time) time.Time { return now.Add(-time.Millisecond) }},
	{name: "one hour ago", at: func(now time.Time) time.Time { return now.Add(-time.Hour) }},
	{name: "Unix epoch", at: func(time.Time) time.Time { return time.UnixMilli(0) }},
	{name: "before the Unix epoch", at: func(time.Time) time.Time { return time.UnixMilli(-1) }},
	// Not the zero time (which means MaxTTL) but far before 1970: a
	// store must not hand Redis a negative PXAT or treat it as "no expiry".
	{name: "zero time plus one nanosecond", at: func(time.Time) time.Time { return time.Time{}.Add(time.Nanosecond) }},
}

func (h *harness) eachPast(fn func(p pastInstant, id string)) {
	for i, p := range pastInstants {
		if p.fakeOnly && !h.fake() {
			continue
		}
		fn(p, "id-"+string(rune('a'+i)))
	}
}

func testPastStoresNothing(h *harness) {
	h.eachPast(func(p pastInstant, id string) {
		if err := h.s.Set(h.ctx, id, store.Record{Data: []byte("x"), ExpiresAt: p.at(h.now())}); err != nil {
			h.Fatalf("Set(expiry %s) = %v, want nil", p.name, err)
		}
		h.mustMiss(id, "a Set with expiry "+p.name)
	})
}

func testPastDeletesExisting(h *harness) {
	h.eachPast(func(p pastInstant, id string) {
		h.set(id, h.rec("live", time.Hour, 0))
		if err := h.s.Set(h.ctx, id, store.Record{Data: []byte("x"), ExpiresAt: p.at(h.now())}); err != nil {
			h.Fatalf("Set(expiry %s) = %v, want nil", p.name, err)
		}
		h.mustMiss(id, "a Set with expiry "+p.name+" over a live record")
	})
}

// testZeroGetsMaxTTL: a zero ExpiresAt becomes now+MaxTTL, never "forever".
func testZeroGetsMaxTTL(h *harness) {
	before := h.now()
	h.set("id", store.Record{Data: []byte("data")})
	after := h.now()
	got, found := h.get("id")
	if !found {
		h.Fatal("Get after Set with zero ExpiresAt: found = false, want true")
	}
	if got.ExpiresAt.IsZero() {
		h.Fatal("Get after Set with zero ExpiresAt: ExpiresAt is zero, want now+MaxTTL (a record must never be immortal)")
	}
	tol := time.Duration(0)
	if !h.fake() {
		tol = skew
	}
	// Truncating to the millisecond may take up to 1ms off.
	lo := before.Add(h.cfg.MaxTTL - time.Millisecond - tol)
	hi := after.Add(h.cfg.MaxTTL + tol)
	if got.ExpiresAt.Before(lo) || got.ExpiresAt.After(hi) {
		h.Fatalf("ExpiresAt = %v, want within [%v, %v] (now + MaxTTL %v)", got.ExpiresAt, lo, hi, h.cfg.MaxTTL)
	}
	if !h.fake() {
		return
	}
	h.expire("id", got)
}

func testPreservedToMillisecond(h *harness) {
	base := h.now().Truncate(time.Millisecond).Add(time.Hour)
	cases := []struct {
		name string
		exp  time.Time
	}{
		{"whole millisecond", base},
		{"sub-millisecond part dropped", base.Add(999_999 * time.Nanosecond)},
		{"one nanosecond dropped", base.Add(time.Nanosecond)},
		{"non-UTC location", base.Add(123_456 * time.Nanosecond).In(time.FixedZone("UTC+05:30", 5*3600+1800))},
	}
	if h.cfg.MaxTTL > time.Minute {
		cases = append(cases, struct {
			name string
			exp  time.Time
		}{"just under MaxTTL", h.now().Add(h.cfg.MaxTTL - time.Second)})
	}
	for _, tc := range cases {
		id := "id-" + tc.name
		want := store.Record{Data: []byte(tc.name), ExpiresAt: tc.exp}
		h.set(id, want)
		h.mustGet(id, want)
	}
}

// testNotExtendedByReads: expiry is absolute, not sliding.
func testNotExtendedByReads(h *harness) {
	want := h.rec("data", time.Hour, 0)
	h.set("id", want)
	h.mustGet("id", want)
	if h.fake() {
		h.advance(30 * time.Minute)
	}
	h.mustGet("id", want)
	if h.fake() {
		h.expire("id", want)
	}
}

func testExpiryEnforced(h *harness) {
	want := h.rec("short-lived", shortTTL, 0)
	h.set("id", want)
	if !h.fake() {
		h.liveBefore("id", want.ExpiresAt, want)
	}
	h.expire("id", want)
}

var expiryRangeTests = []test{
	{"RefusedAfterMaxExpiresAt", testExpiryAfterMax},
	{"AcceptedAtMaxExpiresAt", testExpiryAtMax},
	{"FarPastIsADelete", testExpiryFarPast},
}

// farFuture are expiries no store can keep exactly.
var farFuture = []struct {
	name string
	at   time.Time
}{
	{"one millisecond after MaxExpiresAt", store.MaxExpiresAt.Add(time.Millisecond)},
	{"year 10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	// time.UnixMilli of this overflows int64.
	{"year 300 million", time.Date(300_000_000, 1, 1, 0, 0, 0, 0, time.UTC)},
	{"the largest time.Time", time.Unix(1<<63-1-62135596800, 999999999)},
}

// testExpiryAfterMax: a write whose expiry the store cannot keep is refused
// with store.ErrExpiry and changes nothing, never acknowledged and lost.
func testExpiryAfterMax(h *harness) {
	keep := h.rec("kept", time.Hour, 0)
	h.set("id", keep)
	for _, f := range farFuture {
		for _, version := range []uint64{0, 9} {
			err := h.s.Set(h.ctx, "id", store.Record{Data: []byte("far"), ExpiresAt: f.at, Version: version})
			if !errors.Is(err, store.ErrExpiry) {
				h.Errorf("Set(version %d) with expiry %s: error %v, want one wrapping store.ErrExpiry", version, f.name, err)
			}
		}
		if v, ok := h.s.(store.Versioned); ok {
			if err := v.DeleteVersion(h.ctx, "id", 9, f.at); !errors.Is(err, store.ErrExpiry) {
				h.Errorf("DeleteVersion with until %s: error %v, want one wrapping store.ErrExpiry", f.name, err)
			}
		}
		if b, ok := h.s.(store.BatchSetter); ok {
			applied, err := b.SetMany(h.ctx, []store.Entry{{ID: "id", Record: store.Record{Data: []byte("far"), ExpiresAt: f.at, Version: 9}}})
			if !errors.Is(err, store.ErrExpiry) || applied[0] {
				h.Errorf("SetMany with expiry %s: applied %v, error %v, want not applied and store.ErrExpiry", f.name, applied, err)
			}
		}
		h.mustGet("id", keep)
	}
}

func testExpiryAtMax(h *harness) {
	want := store.Record{Data: []byte("long"), ExpiresAt: store.MaxExpiresAt, Version: 3}
	h.set("id", want)
	h.mustGet("id", want)
}

// testExpiryFarPast: an expiry so far in the past that Unix milliseconds
// overflow is still a delete, never an immortal record.
func testExpiryFarPast(h *harness) {
	for _, at := range []time.Time{
		time.Date(-300_000_000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(-1<<62, 0),
	} {
		h.set("id", h.rec("data", time.Hour, 0))
		h.set("id", store.Record{Data: []byte("x"), ExpiresAt: at})
		h.mustMiss("id", "a Set with expiry "+at.String())
	}
}
