package storetest

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// Real-time tuning. The suite keeps real-time waits to a few hundred
// milliseconds so it stays fast against a real Redis.
const (
	// shortTTL is the lifetime of records and tombstones the suite watches
	// expire.
	shortTTL = 400 * time.Millisecond
	// pollEvery is the pause between observations while waiting.
	pollEvery = 10 * time.Millisecond
	// skew is how far apart the suite's clock and a real-time store's clock
	// (for example the Redis server's) may be. It is only used to decide
	// whether an observation made near an instant is conclusive; explicit
	// expiries are still compared to the millisecond.
	skew = 5 * time.Millisecond
	// lateness bounds how long a poll may go on past the instant it waits for,
	// to absorb scheduling delays on a loaded machine.
	lateness = 2 * time.Second
)

// harness wraps one subtest and its fresh store.
type harness struct {
	*testing.T
	cfg Config
	s   store.Store
	ctx context.Context
}

// now is the store's current time.
func (h *harness) now() time.Time {
	if h.cfg.Now != nil {
		return h.cfg.Now()
	}
	return time.Now()
}

// fake reports whether the suite controls the store's clock.
func (h *harness) fake() bool { return h.cfg.Advance != nil }

// advance moves the fake clock forward by d; only valid when fake.
func (h *harness) advance(d time.Duration) {
	h.Helper()
	if d > 0 {
		h.cfg.Advance(d)
	}
}

// capability returns the store as a T (an optional interface) or skips the
// test.
func capability[T any](h *harness) T {
	h.Helper()
	v, ok := h.s.(T)
	if !ok {
		h.Skipf("storetest: %T does not implement %v", h.s, reflect.TypeFor[T]())
	}
	return v
}

// versioned returns the store as a store.Versioned or skips the test.
func (h *harness) versioned() store.Versioned { return capability[store.Versioned](h) }

// scanner returns the store as a store.Scanner or skips the test.
func (h *harness) scanner() store.Scanner { return capability[store.Scanner](h) }

// setterAt returns the store as a store.SetterAt or skips the test.
func (h *harness) setterAt() store.SetterAt { return capability[store.SetterAt](h) }

// rec builds a record expiring ttl from now. The expiry keeps its
// sub-millisecond part on purpose: stores must truncate it.
func (h *harness) rec(data string, ttl time.Duration, version uint64) store.Record {
	return store.Record{Data: []byte(data), ExpiresAt: h.now().Add(ttl), Version: version}
}

func (h *harness) set(id string, rec store.Record) {
	h.Helper()
	if err := h.s.Set(h.ctx, id, rec); err != nil {
		h.Fatalf("Set(%s, version %d) = %v, want nil", label(id), rec.Version, err)
	}
}

func (h *harness) del(id string) {
	h.Helper()
	if err := h.s.Delete(h.ctx, id); err != nil {
		h.Fatalf("Delete(%s) = %v, want nil", label(id), err)
	}
}

func (h *harness) deleteVersion(id string, version uint64, until time.Time) {
	h.Helper()
	if err := h.versioned().DeleteVersion(h.ctx, id, version, until); err != nil {
		h.Fatalf("DeleteVersion(%s, %d, %v) = %v, want nil", label(id), version, until, err)
	}
}

func (h *harness) get(id string) (store.Record, bool) {
	h.Helper()
	rec, found, err := h.s.Get(h.ctx, id)
	if err != nil {
		h.Fatalf("Get(%s) error = %v, want nil", label(id), err)
	}
	return rec, found
}

// mustGet checks that id holds want, its expiry truncated to the millisecond.
func (h *harness) mustGet(id string, want store.Record) store.Record {
	h.Helper()
	got, found := h.get(id)
	if !found {
		h.Fatalf("Get(%s): found = false, want true (record %s)", label(id), describe(want))
	}
	checkRecord(h.T, "Get("+label(id)+")", got, want)
	return got
}

// mustMiss checks that Get(id) is a miss; why says what should have removed
// the record.
func (h *harness) mustMiss(id, why string) {
	h.Helper()
	if got, found := h.get(id); found {
		h.Fatalf("Get(%s) after %s: found = true (record %s), want false", label(id), why, describe(got))
	}
}

// checkRecord compares got with want: same bytes, same version, and an
// expiry equal to want's truncated to the millisecond.
func checkRecord(t testing.TB, what string, got, want store.Record) {
	t.Helper()
	if !bytes.Equal(got.Data, want.Data) {
		t.Errorf("%s: Data = %s, want %s", what, show(got.Data), show(want.Data))
	}
	if got.Version != want.Version {
		t.Errorf("%s: Version = %d, want %d", what, got.Version, want.Version)
	}
	if wantExp := want.ExpiresAt.Truncate(time.Millisecond); !got.ExpiresAt.Equal(wantExp) {
		t.Errorf("%s: ExpiresAt = %v, want %v (the Set's, truncated to the millisecond; off by %v)",
			what, got.ExpiresAt, wantExp, got.ExpiresAt.Sub(wantExp))
	}
}

// poll calls step every pollEvery until it reports done, failing the test
// if that has not happened by lateness after the store's clock reaches by.
func (h *harness) poll(what string, by time.Time, step func() (done bool)) {
	h.Helper()
	limit := time.Now().Add(by.Sub(h.now()) + lateness)
	for !step() {
		if h.Failed() {
			h.FailNow()
		}
		if time.Now().After(limit) {
			h.Fatalf("still waiting for %s %v after %v", what, lateness, by)
		}
		time.Sleep(pollEvery)
	}
}

// expire checks that id holds want until want.ExpiresAt and is gone from
// then on. With a fake clock it checks both sides of the instant exactly; in
// real time it polls, failing if the record vanishes while the clock is
// certainly before the instant or is still returned well after it.
func (h *harness) expire(id string, want store.Record) {
	h.Helper()
	exp := want.ExpiresAt.Truncate(time.Millisecond)
	if h.fake() {
		h.advance(exp.Sub(h.now()) - time.Millisecond)
		h.mustGet(id, want)
		h.advance(exp.Sub(h.now()))
		h.mustMiss(id, "the clock reached its ExpiresAt")
		return
	}
	h.poll("the record to expire", exp, func() bool {
		start := h.now()
		got, found := h.get(id)
		end := h.now()
		if !found {
			if end.Before(exp.Add(-skew)) {
				h.Fatalf("Get(%s) missed at %v, before its ExpiresAt %v", label(id), end, exp)
			}
			return true
		}
		if start.After(exp.Add(skew)) {
			h.Fatalf("Get(%s) returned the record %v after its ExpiresAt %v", label(id), start.Sub(exp), exp)
		}
		checkRecord(h.T, "Get("+label(id)+") before expiry", got, want)
		return false
	})
	h.mustMiss(id, "its ExpiresAt passed")
}

// liveBefore checks, right after a write in real time, that id holds want.
// If the store's clock had already reached deadline by the end of the Get
// (a stalled machine), a miss proves nothing and the test is skipped.
func (h *harness) liveBefore(id string, deadline time.Time, want store.Record) {
	h.Helper()
	got, found := h.get(id)
	end := h.now()
	if !found {
		if end.Before(deadline.Add(-skew)) {
			h.Fatalf("Get(%s): found = false at %v, want the record (it is live until %v)", label(id), end, deadline)
		}
		h.Skipf("storetest: the clock passed %v before the check finished; machine too slow to tell", deadline)
	}
	checkRecord(h.T, "Get("+label(id)+")", got, want)
}

// label names an id in messages without dumping a 1 KiB string.
func label(id string) string {
	if len(id) > 40 {
		return fmt.Sprintf("%q...(%d bytes)", id[:16], len(id))
	}
	return fmt.Sprintf("%q", id)
}

// show prints data briefly.
func show(b []byte) string {
	if b == nil {
		return "nil"
	}
	if len(b) > 32 {
		return fmt.Sprintf("%q...(%d bytes)", b[:16], len(b))
	}
	return fmt.Sprintf("%q", b)
}

func describe(r store.Record) string {
	return fmt.Sprintf("{Data: %s, ExpiresAt: %v, Version: %d}", show(r.Data), r.ExpiresAt, r.Version)
}
