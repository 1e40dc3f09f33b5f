package redisstore

import (
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// TestPutWritesWhatChanged holds the versioned Set's script (put in
// scripts.go) to its number of writes, counted by the server
// (commandstats counts the commands a script calls): two SETs for a
// session new to Redis, two when the stored sidecar already holds exactly
// what would be written (a backfill over sessions dual writes put there),
// three otherwise. The skipped write must change nothing: the test also
// checks the record, the data and both keys' expiries after every write,
// including the legacy form, whose sidecar carries no expiry and so is
// always rewritten.
func TestPutWritesWhatChanged(t *testing.T) {
	tp := topologies[0]
	ctx := testContext(t)
	exp1 := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	exp2 := exp1.Add(time.Minute)
	type step struct {
		name string
		rec  store.Record
		del  bool // DEL the data key (not the sidecar) before the write
		sets int64
	}
	for _, legacy := range []bool{false, true} {
		s, c := newTestStore(t, tp, Options{LegacySidecars: legacy})
		same := int64(2)
		if legacy {
			same = 3
		}
		steps := []step{
			{name: "new", rec: store.Record{Data: []byte("a"), ExpiresAt: exp1, Version: 10}, sets: 2},
			{name: "same record again", rec: store.Record{Data: []byte("a"), ExpiresAt: exp1, Version: 10}, sets: same},
			{name: "same version, other data", rec: store.Record{Data: []byte("b"), ExpiresAt: exp1, Version: 10}, sets: same},
			{name: "same version, later expiry", rec: store.Record{Data: []byte("b"), ExpiresAt: exp2, Version: 10}, sets: 3},
			{name: "same again, data key gone", rec: store.Record{Data: []byte("c"), ExpiresAt: exp2, Version: 10}, del: true, sets: same},
			{name: "newer version", rec: store.Record{Data: []byte("d"), ExpiresAt: exp2, Version: 11}, sets: 3},
			{name: "older version", rec: store.Record{Data: []byte("e"), ExpiresAt: exp1, Version: 9}, sets: 1},
		}
		dk, sk := s.recordKeys("sess")
		want := store.Record{}
		for _, st := range steps {
			if st.del {
				if err := c.Del(ctx, dk).Err(); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.ConfigResetStat(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			if _, err := s.SetMany(ctx, []store.Entry{{ID: "sess", Record: st.rec}}); err != nil {
				t.Fatalf("legacy %v, %s: %v", legacy, st.name, err)
			}
			stats, err := commandStats(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			if got := stats["set"].calls; got != st.sets {
				t.Errorf("legacy %v, %s: %d SETs, want %d", legacy, st.name, got, st.sets)
			}
			if st.rec.Version >= want.Version {
				want = st.rec
			}
			got, found, err := s.Get(ctx, "sess")
			if err != nil || !found || string(got.Data) != string(want.Data) || got.Version != want.Version || !got.ExpiresAt.Equal(want.ExpiresAt) {
				t.Errorf("legacy %v, %s: Get = %+v, %v, %v; want %+v", legacy, st.name, got, found, err, want)
			}
			for _, key := range []string{dk, sk} {
				at, err := c.PExpireTime(ctx, key).Result()
				if err != nil {
					t.Fatal(err)
				}
				if at != time.Duration(want.ExpiresAt.UnixMilli())*time.Millisecond {
					t.Errorf("legacy %v, %s: %q expires at %v ms, want %d", legacy, st.name, key, at.Milliseconds(), want.ExpiresAt.UnixMilli())
				}
			}
		}
	}
}
