package redisstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// layout is what Redis holds for one session: the data key's and the
// sidecar's values and PEXPIRETIMEs in ms (-2 for a missing key).
type layout struct {
	data, side       string
	dataPX, sidePX   int64
	hasData, hasSide bool
}

func readLayout(t *testing.T, s *Store, c redis.UniversalClient, id string) layout {
	t.Helper()
	ctx := testContext(t)
	dk, sk := s.recordKeys(id)
	var l layout
	var err error
	if l.data, err = c.Get(ctx, dk).Result(); err == nil {
		l.hasData = true
	} else if err != redis.Nil {
		t.Fatal(err)
	}
	if l.side, err = c.Get(ctx, sk).Result(); err == nil {
		l.hasSide = true
	} else if err != redis.Nil {
		t.Fatal(err)
	}
	for _, k := range []struct {
		key string
		px  *int64
	}{{dk, &l.dataPX}, {sk, &l.sidePX}} {
		d, err := c.PExpireTime(ctx, k.key).Result()
		if err != nil {
			t.Fatal(err)
		}
		*k.px = int64(d / time.Millisecond)
	}
	return l
}

// wantRecord checks that id holds data at version expiring at exp: the
// sidecar carries exactly the data key's PXAT, which is exp, and the
// sidecar key expires with it.
func wantRecord(t *testing.T, s *Store, c redis.UniversalClient, id, data string, version uint64, exp time.Time) {
	t.Helper()
	l := readLayout(t, s, c, id)
	px := exp.UnixMilli()
	wantSide := fmt.Sprintf("d%d:%d", version, px)
	if !l.hasData || l.data != data || l.dataPX != px || l.side != wantSide || l.sidePX != px {
		t.Fatalf("id %q: got %+v, want data %q and sidecar %q, both expiring at %d", id, l, data, wantSide, px)
	}
	rec, found, err := s.Get(testContext(t), id)
	if err != nil || !found || string(rec.Data) != data || rec.Version != version || rec.ExpiresAt.UnixMilli() != px {
		t.Fatalf("Get(%q): got (%+v, %v, %v), want data %q, version %d, expiry %d", id, rec, found, err, data, version, px)
	}
}

// wantTombstone checks that id holds only a tombstone at version expiring
// at exp.
func wantTombstone(t *testing.T, s *Store, c redis.UniversalClient, id string, version uint64, exp time.Time) {
	t.Helper()
	l := readLayout(t, s, c, id)
	wantSide := fmt.Sprintf("t%d", version)
	if l.hasData || l.side != wantSide || l.sidePX != exp.UnixMilli() {
		t.Fatalf("id %q: got %+v, want no data and sidecar %q expiring at %d", id, l, wantSide, exp.UnixMilli())
	}
}

// TestSidecarExpiryIsDataExpiry: after every kind of write, on a real
// server and a real cluster, a record's sidecar carries its data key's
// PXAT exactly (invariant 5: the absolute expiry is the session's own, and
// a read takes it from the sidecar), and the sidecar key expires with it.
func TestSidecarExpiryIsDataExpiry(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		ctx := testContext(t)
		now := time.Now().Truncate(time.Millisecond)
		s, c := newTestStore(t, tp, Options{MaxTTL: time.Hour, Now: func() time.Time { return now }})
		exp1, exp2, exp3 := now.Add(time.Hour), now.Add(2*time.Hour), now.Add(3*time.Hour)
		for _, id := range []string{"plain", "{braced}"} {
			t.Run(id, func(t *testing.T) {
				steps := []struct {
					name  string
					write func() error
					check func()
				}{
					{"unversioned Set", func() error {
						return s.Set(ctx, id+"/a", store.Record{Data: []byte("v0"), ExpiresAt: exp1.Add(999 * time.Microsecond)})
					}, func() { wantRecord(t, s, c, id+"/a", "v0", 0, exp1) }},
					{"zero expiry", func() error {
						return s.Set(ctx, id+"/z", store.Record{Data: []byte("z"), Version: 4})
					}, func() { wantRecord(t, s, c, id+"/z", "z", 4, now.Add(time.Hour)) }},
					{"versioned Set over a record", func() error {
						return s.Set(ctx, id+"/a", store.Record{Data: []byte("v5"), ExpiresAt: exp2, Version: 5})
					}, func() { wantRecord(t, s, c, id+"/a", "v5", 5, exp2) }},
					{"older versioned Set", func() error {
						return s.Set(ctx, id+"/a", store.Record{Data: []byte("v3"), ExpiresAt: exp3, Version: 3})
					}, func() { wantRecord(t, s, c, id+"/a", "v5", 5, exp2) }},
					{"versioned Set of a new session", func() error {
						return s.Set(ctx, id+"/b", store.Record{Data: []byte("b9"), ExpiresAt: exp3, Version: 9})
					}, func() { wantRecord(t, s, c, id+"/b", "b9", 9, exp3) }},
					{"SetMany", func() error {
						_, err := s.SetMany(ctx, []store.Entry{
							{ID: id + "/a", Record: store.Record{Data: []byte("m6"), ExpiresAt: exp1, Version: 6}},
							{ID: id + "/b", Record: store.Record{Data: []byte("m1"), ExpiresAt: exp1, Version: 1}},
							{ID: id + "/c", Record: store.Record{Data: []byte("m2"), ExpiresAt: exp2, Version: 2}},
							{ID: id + "/d", Record: store.Record{Data: []byte("m0"), ExpiresAt: exp3}},
						})
						return err
					}, func() {
						wantRecord(t, s, c, id+"/a", "m6", 6, exp1)
						wantRecord(t, s, c, id+"/b", "b9", 9, exp3)
						wantRecord(t, s, c, id+"/c", "m2", 2, exp2)
						wantRecord(t, s, c, id+"/d", "m0", 0, exp3)
					}},
					{"SetLatest of a new session", func() error {
						_, err := s.SetLatest(ctx, id+"/l", store.Record{Data: []byte("l7"), ExpiresAt: exp2, Version: 7})
						return err
					}, func() { wantRecord(t, s, c, id+"/l", "l7", 7, exp2) }},
					{"SetLatest below the stored version", func() error {
						_, err := s.SetLatest(ctx, id+"/l", store.Record{Data: []byte("l8"), ExpiresAt: exp1, Version: 2})
						return err
					}, func() { wantRecord(t, s, c, id+"/l", "l8", 8, exp1) }},
					{"DeleteVersion", func() error {
						return s.DeleteVersion(ctx, id+"/c", 3, exp3)
					}, func() { wantTombstone(t, s, c, id+"/c", 3, exp3) }},
					{"DeleteLatest at the record's own expiry", func() error {
						_, err := s.DeleteLatest(ctx, id+"/b", 1, time.Time{}, time.Time{})
						return err
					}, func() { wantTombstone(t, s, c, id+"/b", 10, exp3) }},
					{"SetLatest over a tombstone", func() error {
						_, err := s.SetLatest(ctx, id+"/b", store.Record{Data: []byte("b11"), ExpiresAt: exp2, Version: 1})
						return err
					}, func() { wantRecord(t, s, c, id+"/b", "b11", 11, exp2) }},
					{"versioned Set over a sidecar without expiry", func() error {
						dk, sk := s.recordKeys(id + "/old")
						if err := c.Set(ctx, dk, "old", 0).Err(); err != nil {
							return err
						}
						if err := c.PExpireAt(ctx, dk, exp1).Err(); err != nil {
							return err
						}
						if err := c.Set(ctx, sk, "d3", 0).Err(); err != nil {
							return err
						}
						if err := c.PExpireAt(ctx, sk, exp1).Err(); err != nil {
							return err
						}
						return s.Set(ctx, id+"/old", store.Record{Data: []byte("new"), ExpiresAt: exp2, Version: 4})
					}, func() { wantRecord(t, s, c, id+"/old", "new", 4, exp2) }},
				}
				for _, step := range steps {
					if err := step.write(); err != nil {
						t.Fatalf("%s: %v", step.name, err)
					}
					step.check()
				}
			})
		}
	})
}
