package redisfidelity

import (
	"bytes"
	"fmt"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// storePrefix keeps the store's keys apart from the other checks'.
const storePrefix = "fidelity:"

// keyExpiries returns the PEXPIRETIME of every key whose name contains id
// (the record's data key and its sidecar, whatever their layout).
func (h *h) keyExpiries(id string) map[string]int64 {
	h.Helper()
	keys, err := h.c.Keys(h.ctx, "*"+storePrefix+id+"*").Result()
	if err != nil {
		h.Fatalf("KEYS: %v", err)
	}
	out := map[string]int64{}
	for _, k := range keys {
		out[k] = h.pexpiretime(k)
	}
	return out
}

// wantKeyExpiries checks that id has exactly n keys, all expiring at at.
func (h *h) wantKeyExpiries(what, id string, n int, at time.Time) {
	h.Helper()
	got := h.keyExpiries(id)
	if len(got) != n {
		h.Errorf("%s: got keys %v, want %d", what, got, n)
	}
	for k, ms := range got {
		if ms != at.UnixMilli() {
			h.Errorf("%s: PEXPIRETIME %s: got %d, want %d (moved by %dms)", what, k, ms, at.UnixMilli(), ms-at.UnixMilli())
		}
	}
}

// wantRecord checks what the store reads for id.
func (h *h) wantRecord(s *redisstore.Store, what, id string, want store.Record) {
	h.Helper()
	got, found, err := s.Get(h.ctx, id)
	switch {
	case err != nil:
		h.Fatalf("%s: Get: %v", what, err)
	case !found:
		h.Errorf("%s: Get: not found, want %+v", what, want)
	case !bytes.Equal(got.Data, want.Data) || got.Version != want.Version || !got.ExpiresAt.Equal(want.ExpiresAt):
		h.Errorf("%s: Get: got data %q version %d expiry %v, want %q %d %v",
			what, got.Data, got.Version, got.ExpiresAt, want.Data, want.Version, want.ExpiresAt)
	}
}

// checkRedisStore: every write of store/redisstore (its Lua scripts) keeps
// the record's expiry exact on both keys, and every read (MGET of data key
// and sidecar, the get script, a plain GET and PEXPIRETIME as the
// application's own session store reads) answers it.
func checkRedisStore(h *h) {
	s := redisstore.New(h.c, redisstore.Options{Prefix: storePrefix, Timeout: 5 * time.Second})
	exp := time.Now().Add(time.Hour).Truncate(time.Millisecond).Add(321 * time.Millisecond)

	rec := store.Record{Data: []byte("v3"), ExpiresAt: exp, Version: 3}
	if err := s.Set(h.ctx, "a", rec); err != nil {
		h.Fatalf("Set: %v", err)
	}
	h.wantRecord(s, "after a versioned Set", "a", rec)
	h.wantKeyExpiries("after a versioned Set", "a", 2, exp)
	if got, err := h.c.Get(h.ctx, storePrefix+"a").Result(); err != nil || got != "v3" {
		h.Errorf("GET of the data key: got %q (%v), want v3", got, err)
	}

	// A write the store must refuse leaves everything as it was.
	if err := s.Set(h.ctx, "a", store.Record{Data: []byte("v2"), ExpiresAt: exp.Add(time.Hour), Version: 2}); err != nil {
		h.Fatalf("Set of an older version: %v", err)
	}
	h.wantRecord(s, "after an older Set", "a", rec)
	h.wantKeyExpiries("after an older Set", "a", 2, exp)

	// Unversioned Set and a legacy sidecar, which is read with the get
	// script (the data key's PEXPIRETIME inside Lua).
	legacy := redisstore.New(h.c, redisstore.Options{Prefix: storePrefix, LegacySidecars: true, Timeout: 5 * time.Second})
	exp2 := exp.Add(17 * time.Millisecond)
	if err := legacy.Set(h.ctx, "b", store.Record{Data: []byte("b"), ExpiresAt: exp2, Version: 5}); err != nil {
		h.Fatalf("Set with a legacy sidecar: %v", err)
	}
	h.wantRecord(s, "a legacy sidecar", "b", store.Record{Data: []byte("b"), ExpiresAt: exp2, Version: 5})
	if err := s.Set(h.ctx, "c", store.Record{Data: []byte("c"), ExpiresAt: exp2}); err != nil {
		h.Fatalf("unversioned Set: %v", err)
	}
	h.wantRecord(s, "after an unversioned Set", "c", store.Record{Data: []byte("c"), ExpiresAt: exp2})
	h.wantKeyExpiries("after an unversioned Set", "c", 2, exp2)

	// SetLatest, then DeleteLatest with the record's own expiry, read
	// inside the script.
	v, err := s.SetLatest(h.ctx, "a", store.Record{Data: []byte("latest"), ExpiresAt: exp2, Version: 1})
	if err != nil || v != 4 {
		h.Fatalf("SetLatest: got version %d (%v), want 4", v, err)
	}
	h.wantRecord(s, "after SetLatest", "a", store.Record{Data: []byte("latest"), ExpiresAt: exp2, Version: 4})
	h.wantKeyExpiries("after SetLatest", "a", 2, exp2)
	if v, err := s.DeleteLatest(h.ctx, "a", 1, time.Time{}, time.Time{}); err != nil || v != 5 {
		h.Fatalf("DeleteLatest: got version %d (%v), want 5", v, err)
	}
	if _, found, err := s.Get(h.ctx, "a"); err != nil || found {
		h.Errorf("Get after DeleteLatest: got found %v (%v), want a miss", found, err)
	}
	h.wantKeyExpiries("the tombstone of DeleteLatest (the record's own expiry)", "a", 1, exp2)

	// DeleteVersion with a tombstone expiry, and a write it must block.
	until := exp.Add(5 * time.Millisecond)
	if err := s.DeleteVersion(h.ctx, "c", 7, until); err != nil {
		h.Fatalf("DeleteVersion: %v", err)
	}
	h.wantKeyExpiries("the tombstone of DeleteVersion", "c", 1, until)
	if err := s.Set(h.ctx, "c", store.Record{Data: []byte("old"), ExpiresAt: exp, Version: 6}); err != nil {
		h.Fatalf("Set below the tombstone: %v", err)
	}
	if _, found, _ := s.Get(h.ctx, "c"); found {
		h.Errorf("Get after a write below the tombstone: found, want a miss")
	}

	// A batch: one script over many records, read back with MGETs.
	var entries []store.Entry
	var ids []string
	for i := range 20 {
		id := fmt.Sprintf("batch-%d", i)
		ids = append(ids, id)
		entries = append(entries, store.Entry{ID: id, Record: store.Record{
			Data: []byte(id), ExpiresAt: exp.Add(time.Duration(i) * time.Millisecond), Version: uint64(i + 1)}})
	}
	applied, err := s.SetMany(h.ctx, entries)
	if err != nil {
		h.Fatalf("SetMany: %v", err)
	}
	for i, ok := range applied {
		if !ok {
			h.Errorf("SetMany: entry %d not applied", i)
		}
	}
	got, err := s.GetMany(h.ctx, ids)
	if err != nil {
		h.Fatalf("GetMany: %v", err)
	}
	for i, l := range got {
		want := entries[i].Record
		if !l.Found || !bytes.Equal(l.Record.Data, want.Data) || l.Record.Version != want.Version || !l.Record.ExpiresAt.Equal(want.ExpiresAt) {
			h.Errorf("GetMany %s: got %+v, want %+v", ids[i], l, want)
		}
	}
	h.wantKeyExpiries("after SetMany", "batch-7", 2, entries[7].Record.ExpiresAt)
}

// checkRedisStoreExpiry: a record is read before its expiry and missed
// after it. The store hides a record at its expiry by its own clock, so
// the server's boundary millisecond does not show.
func checkRedisStoreExpiry(h *h) {
	s := redisstore.New(h.c, redisstore.Options{Prefix: storePrefix, Timeout: 5 * time.Second})
	exp := time.Now().Add(40 * time.Millisecond).Truncate(time.Millisecond)
	if err := s.Set(h.ctx, "short", store.Record{Data: []byte("x"), ExpiresAt: exp, Version: 1}); err != nil {
		h.Fatalf("Set: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var found bool
		var err error
		lo, hi := timed(func() { _, found, err = s.Get(h.ctx, "short") })
		if err != nil {
			h.Fatalf("Get: %v", err)
		}
		switch {
		case !found && hi < exp.UnixMilli():
			h.Fatalf("Get at [%d, %d]: a miss before the expiry %d", lo, hi, exp.UnixMilli())
		case found && lo >= exp.UnixMilli():
			h.Fatalf("Get at [%d, %d]: found at or after the expiry %d", lo, hi, exp.UnixMilli())
		}
		if lo > exp.UnixMilli() {
			break
		}
		if time.Now().After(deadline) {
			h.Fatalf("Get: no answer after the expiry within 5s")
		}
		time.Sleep(time.Millisecond)
	}
	// Redis removes the keys by its own clock, soon after.
	for len(h.keyExpiries("short")) > 0 {
		if time.Now().After(deadline) {
			h.Fatalf("keys of an expired record: got %v, want none", h.keyExpiries("short"))
		}
		time.Sleep(time.Millisecond)
	}
}
