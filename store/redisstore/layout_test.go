package redisstore

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// braceIDs exercise both sidecar key forms.
var braceIDs = []string{"plain", "{a}", "}{", "{}", "a{b}c", "{", "}", "x}:v", "{plain}:v"}

// TestEveryKeyHasTTL runs a mixed workload and then checks every key in
// Redis, sidecars included: each has an expiry, and there are exactly the
// keys the workload should leave.
func TestEveryKeyHasTTL(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		ctx := testContext(t)
		s, _ := newTestStore(t, tp, Options{MaxTTL: time.Hour})
		exp := time.Now().Add(time.Hour)
		wantKeys := 0
		for i, id := range braceIDs {
			ops := []struct {
				name string
				keys int // keys left behind for this id
				run  func(id string) error
			}{
				{"unversioned", 2, func(id string) error {
					return s.Set(ctx, id, store.Record{Data: []byte("v0"), ExpiresAt: exp})
				}},
				{"zero expiry", 2, func(id string) error {
					return s.Set(ctx, id, store.Record{Data: []byte("v0"), Version: 3})
				}},
				{"versioned", 2, func(id string) error {
					return s.Set(ctx, id, store.Record{Data: []byte("v1"), ExpiresAt: exp, Version: uint64(i + 1)})
				}},
				{"tombstone", 1, func(id string) error {
					if err := s.Set(ctx, id, store.Record{Data: []byte("v"), ExpiresAt: exp, Version: 4}); err != nil {
						return err
					}
					return s.DeleteVersion(ctx, id, 5, exp)
				}},
				{"tombstone zero until", 1, func(id string) error {
					return s.DeleteVersion(ctx, id, 5, time.Time{})
				}},
				{"unversioned over tombstone", 2, func(id string) error {
					if err := s.DeleteVersion(ctx, id, 5, exp); err != nil {
						return err
					}
					return s.Set(ctx, id, store.Record{Data: []byte("v0"), ExpiresAt: exp})
				}},
				{"past expiry", 0, func(id string) error {
					if err := s.Set(ctx, id, store.Record{Data: []byte("v"), ExpiresAt: exp, Version: 2}); err != nil {
						return err
					}
					return s.Set(ctx, id, store.Record{Data: []byte("v"), ExpiresAt: time.Now().Add(-time.Second), Version: 2})
				}},
				{"deleted", 0, func(id string) error {
					if err := s.DeleteVersion(ctx, id, 5, exp); err != nil {
						return err
					}
					return s.Delete(ctx, id)
				}},
			}
			for _, op := range ops {
				if err := op.run(op.name + "/" + id); err != nil {
					t.Fatalf("%s on id %q: %v", op.name, id, err)
				}
				wantKeys += op.keys
			}
		}
		keys := allKeys(t, tp)
		if len(keys) != wantKeys {
			t.Errorf("got %d keys in Redis, want %d", len(keys), wantKeys)
		}
		for _, k := range keys {
			ttl, err := k.node.PTTL(ctx, k.key).Result()
			if err != nil {
				t.Fatal(err)
			}
			if ttl <= 0 {
				t.Errorf("key %q: got PTTL %v, want > 0 (no key may be immortal)", k.key, ttl)
			}
		}
	})
}

// TestPastExpiryLeavesNoKey: a past expiry or until writes nothing at all,
// not even a sidecar.
func TestPastExpiryLeavesNoKey(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		ctx := testContext(t)
		s, _ := newTestStore(t, tp, Options{})
		past := time.Now().Add(-time.Millisecond)
		for _, id := range braceIDs {
			for _, err := range []error{
				s.Set(ctx, "v0/"+id, store.Record{Data: []byte("x"), ExpiresAt: past}),
				s.Set(ctx, "v1/"+id, store.Record{Data: []byte("x"), ExpiresAt: past, Version: 1}),
				s.Set(ctx, "epoch/"+id, store.Record{Data: []byte("x"), ExpiresAt: time.UnixMilli(0), Version: 1}),
				s.DeleteVersion(ctx, "dv/"+id, 1, past),
			} {
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		if keys := allKeys(t, tp); len(keys) != 0 {
			t.Fatalf("got %d keys after writes with past expiries, want 0", len(keys))
		}
	})
}

// TestRawLayout: the data key holds exactly the bytes under Prefix+id with
// the exact PXAT expiry, so scs's own Redis stores read it; and a session
// written the way scs writes it is read back as unversioned.
func TestRawLayout(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		for _, prefix := range []string{"", "app:s:", "odd*[x]?\\:"} {
			t.Run(fmt.Sprintf("prefix %q", prefix), func(t *testing.T) {
				ctx := testContext(t)
				s, c := newTestStore(t, tp, Options{Prefix: prefix})
				wantPrefix := prefix
				if wantPrefix == "" {
					wantPrefix = DefaultPrefix
				}
				data := []byte("\x00raw\xffsession bytes\r\n")
				exp := time.Now().Add(time.Hour).Truncate(time.Millisecond)
				for _, version := range []uint64{0, 7} {
					id := fmt.Sprintf("id-%d", version)
					if err := s.Set(ctx, id, store.Record{Data: data, ExpiresAt: exp.Add(999 * time.Microsecond), Version: version}); err != nil {
						t.Fatal(err)
					}
					got, err := c.Get(ctx, wantPrefix+id).Bytes()
					if err != nil {
						t.Fatalf("GET %s: %v", wantPrefix+id, err)
					}
					if !bytes.Equal(got, data) {
						t.Fatalf("GET prefix+id (version %d): got %q, want exactly %q", version, got, data)
					}
					at, err := c.PExpireTime(ctx, wantPrefix+id).Result()
					if err != nil {
						t.Fatal(err)
					}
					if got := time.UnixMilli(int64(at / time.Millisecond)); !got.Equal(exp) {
						t.Fatalf("PEXPIRETIME (version %d): got %v, want %v", version, got, exp)
					}
				}

				// What scs's redisstore does: SET, then PEXPIREAT.
				if err := c.Set(ctx, wantPrefix+"from-scs", "scs bytes", 0).Err(); err != nil {
					t.Fatal(err)
				}
				if err := c.PExpireAt(ctx, wantPrefix+"from-scs", exp).Err(); err != nil {
					t.Fatal(err)
				}
				rec, found, err := s.Get(ctx, "from-scs")
				if err != nil || !found {
					t.Fatalf("Get(scs-written session): got found %v, err %v, want found", found, err)
				}
				if string(rec.Data) != "scs bytes" || rec.Version != 0 || !rec.ExpiresAt.Equal(exp) {
					t.Fatalf("Get(scs-written session): got %+v, want data %q, version 0, expiry %v", rec, "scs bytes", exp)
				}
			})
		}
	})
}

// TestSidecarSameSlot asks the cluster itself: every sidecar key is in its
// data key's slot, and the Lua scripts touching both keys succeed.
func TestSidecarSameSlot(t *testing.T) {
	tp := topologies[1]
	ctx := testContext(t)
	s, c := newTestStore(t, tp, Options{})
	for _, id := range append(braceIDs, "séssion-日本語", "nul\x00byte", "[a-z]*?") {
		dataKey := DefaultPrefix + id
		want, err := c.ClusterKeySlot(ctx, dataKey).Result()
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.ClusterKeySlot(ctx, sidecarKey(dataKey)).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got != want || int64(keySlot(dataKey)) != want {
			t.Errorf("id %q: sidecar slot %d, keySlot %d, want the data key's slot %d", id, got, keySlot(dataKey), want)
		}
		if err := s.Set(ctx, id, store.Record{Data: []byte("x"), Version: 1}); err != nil {
			t.Errorf("versioned Set(%q) on the cluster: %v", id, err)
		}
	}
}

// TestVersionOrdering is the ordering rule as the Migrator relies on it.
func TestVersionOrdering(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		ctx := testContext(t)
		s, _ := newTestStore(t, tp, Options{})
		exp := time.Now().Add(time.Hour)
		set := func(data string, v uint64) {
			t.Helper()
			if err := s.Set(ctx, "id", store.Record{Data: []byte(data), ExpiresAt: exp, Version: v}); err != nil {
				t.Fatal(err)
			}
		}
		wantData := func(want string, wantVersion uint64) {
			t.Helper()
			rec, found, err := s.Get(ctx, "id")
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case want == "" && found:
				t.Fatalf("got record %q version %d, want a miss", rec.Data, rec.Version)
			case want == "":
			case !found:
				t.Fatalf("got a miss, want %q version %d", want, wantVersion)
			case string(rec.Data) != want || rec.Version != wantVersion:
				t.Fatalf("got %q version %d, want %q version %d", rec.Data, rec.Version, want, wantVersion)
			}
		}
		set("ten", 10)
		set("nine", 9)
		wantData("ten", 10)
		if err := s.DeleteVersion(ctx, "id", 11, exp); err != nil {
			t.Fatal(err)
		}
		wantData("", 0)
		set("late ten", 10)
		set("late eleven", 11)
		wantData("", 0)
		set("twelve", 12)
		wantData("twelve", 12)
	})
}
