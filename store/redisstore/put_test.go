package redisstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// TestPutWritesWhatChanged holds the versioned Set's scripts (put in
// scripts.go, through Set and through SetMany, on a server and a cluster)
// to their number of writes, counted by the servers (commandstats counts
// the commands a script calls): two SETs for a session new to Redis, two
// when the stored sidecar already holds exactly what would be written,
// value and expiry (a backfill over sessions dual writes put there), three
// otherwise. The skipped write must change nothing: after every write the
// test also checks the record, the data and both keys' expiries, including
// a sidecar whose expiry was moved (as a resharding can) and the legacy
// form, whose sidecar carries no expiry and so is always rewritten.
func TestPutWritesWhatChanged(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		for _, method := range []string{"Set", "SetMany"} {
			for _, legacy := range []bool{false, true} {
				t.Run(method+map[bool]string{false: "", true: "/legacy"}[legacy], func(t *testing.T) {
					testPutWrites(t, tp, method, legacy)
				})
			}
		}
	})
}

func testPutWrites(t *testing.T, tp topology, method string, legacy bool) {
	ctx := testContext(t)
	s, c := newTestStore(t, tp, Options{LegacySidecars: legacy})
	nodes := tp.nodes(t)
	exp1 := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	exp2 := exp1.Add(time.Minute)
	dk, sk := s.recordKeys("sess")
	same := int64(2)
	if legacy {
		same = 3
	}
	type step struct {
		name string
		rec  store.Record
		pre  func() error // run before the write
		sets int64
	}
	steps := []step{
		{name: "new", rec: store.Record{Data: []byte("a"), ExpiresAt: exp1, Version: 10}, sets: 2},
		{name: "same record again", rec: store.Record{Data: []byte("a"), ExpiresAt: exp1, Version: 10}, sets: same},
		{name: "same version, other data", rec: store.Record{Data: []byte("b"), ExpiresAt: exp1, Version: 10}, sets: same},
		{name: "same version, later expiry", rec: store.Record{Data: []byte("b"), ExpiresAt: exp2, Version: 10}, sets: 3},
		{name: "same again, data key gone", rec: store.Record{Data: []byte("c"), ExpiresAt: exp2, Version: 10},
			pre: func() error { return c.Del(ctx, dk).Err() }, sets: same},
		{name: "same again, sidecar's expiry moved", rec: store.Record{Data: []byte("c"), ExpiresAt: exp2, Version: 10},
			pre: func() error { return c.PExpireAt(ctx, sk, exp2.Add(-7*time.Millisecond)).Err() }, sets: 3},
		{name: "newer version", rec: store.Record{Data: []byte("d"), ExpiresAt: exp2, Version: 11}, sets: 3},
		{name: "older version", rec: store.Record{Data: []byte("e"), ExpiresAt: exp1, Version: 9}, sets: 1},
	}
	want := store.Record{}
	for _, st := range steps {
		if st.pre != nil {
			if err := st.pre(); err != nil {
				t.Fatal(err)
			}
		}
		sets := countSets(t, nodes, func() error {
			if method == "Set" {
				return s.Set(ctx, "sess", st.rec)
			}
			_, err := s.SetMany(ctx, []store.Entry{{ID: "sess", Record: st.rec}})
			return err
		})
		if sets != st.sets {
			t.Errorf("%s: %d SETs, want %d", st.name, sets, st.sets)
		}
		if st.rec.Version >= want.Version {
			want = st.rec
		}
		checkStored(t, ctx, s, c, want, st.name)
	}
	if legacy {
		return
	}
	// A legacy sidecar ("d<version>", no expiry) met by the current form is
	// rewritten, even at the same version and expiry.
	rec := store.Record{Data: []byte("f"), ExpiresAt: exp2, Version: 20}
	if err := New(c, Options{LegacySidecars: true}).Set(ctx, "sess", rec); err != nil {
		t.Fatal(err)
	}
	if sets := countSets(t, nodes, func() error { return s.Set(ctx, "sess", rec) }); sets != 3 {
		t.Errorf("over a legacy sidecar: %d SETs, want 3", sets)
	}
	checkStored(t, ctx, s, c, rec, "over a legacy sidecar")
	if v, err := c.Get(ctx, sk).Result(); err != nil || !strings.Contains(v, ":") {
		t.Errorf("over a legacy sidecar: sidecar %q (%v), want the form with the expiry", v, err)
	}
}

// countSets returns how many SET commands the nodes ran during op.
func countSets(t *testing.T, nodes []*redis.Client, op func() error) int64 {
	t.Helper()
	ctx := testContext(t)
	for _, n := range nodes {
		if err := n.ConfigResetStat(ctx).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := op(); err != nil {
		t.Fatal(err)
	}
	var sets int64
	for _, n := range nodes {
		stats, err := commandStats(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		sets += stats["set"].calls
	}
	return sets
}

// checkStored checks that s reads want for "sess" and that its data key and
// sidecar both expire at want's expiry.
func checkStored(t *testing.T, ctx context.Context, s *Store, c redis.UniversalClient, want store.Record, name string) {
	t.Helper()
	got, found, err := s.Get(ctx, "sess")
	if err != nil || !found || string(got.Data) != string(want.Data) || got.Version != want.Version || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("%s: Get = %+v, %v, %v; want %+v", name, got, found, err, want)
	}
	dk, sk := s.recordKeys("sess")
	for _, key := range []string{dk, sk} {
		at, err := c.PExpireTime(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if at.Milliseconds() != want.ExpiresAt.UnixMilli() {
			t.Errorf("%s: %q expires at %d ms, want %d", name, key, at.Milliseconds(), want.ExpiresAt.UnixMilli())
		}
	}
}
