package consistency_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/consistency"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// TestRepairer repairs one mismatch of each kind, found by a full diff,
// and checks the distributed store afterwards; a write made after the diff
// (newer than what the repair copies) survives the repair.
func TestRepairer(t *testing.T) {
	forEachRedis(t, func(t *testing.T, rdb redis.UniversalClient, dist *redisstore.Store) {
		ctx := testCtx(t)
		local := newLocal(t)
		later := store.Record{Data: []byte("x"), Version: 5, ExpiresAt: expiry.Add(time.Minute)}
		mustSet(t, local, "missing", record("x", 5))
		mustSet(t, local, "stale", record("new", 5))
		mustSet(t, dist, "stale", record("old", 4))
		mustSet(t, local, "data", record("x", 5))
		mustSet(t, dist, "data", record("y", 5))
		mustSet(t, local, "expiry", record("x", 5))
		mustSet(t, dist, "expiry", later)
		mustSet(t, local, "overtaken", record("x", 5))
		mustSet(t, dist, "extra", record("x", 3))
		mustSet(t, dist, "resurrected", record("x", 3))
		mustDeleteVersion(t, dist, "resurrected", 4)
		if err := rdb.Set(ctx, redisstore.DefaultPrefix+"resurrected", "back", time.Hour).Err(); err != nil {
			t.Fatal(err)
		}

		var mms []consistency.Mismatch
		cfg := consistency.DiffConfig{Local: local, Distributed: dist, Delay: time.Millisecond, MemberKey: "k",
			OnMismatch: func(mm consistency.Mismatch) { mms = append(mms, mm) }}
		pass, err := consistency.LocalPass(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		scan, err := consistency.ScanExtras(ctx, cfg, pass.Members)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := consistency.ConfirmExtras(ctx, cfg, scan.Candidates, consistency.Union(), consistency.Union()); err != nil {
			t.Fatal(err)
		}
		// "extra" is a versioned session in Redis alone: a restarted
		// instance's, not a mismatch.
		if len(mms) != 6 {
			t.Fatalf("the diff confirmed %d mismatches, want 6", len(mms))
		}
		// A write after the diff: the repair's copy of v5 must not undo it.
		mustSet(t, dist, "overtaken", record("newest", 6))

		r, err := consistency.NewRepairer(consistency.RepairConfig{Distributed: dist, Batch: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, mm := range mms {
			r.Add(ctx, mm)
		}
		res, err := r.Flush(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := (consistency.RepairResult{Copied: 4, Tombstoned: 1, Skipped: 1}); res != want {
			t.Errorf("repair: got %+v, want %+v", res, want)
		}
		for _, id := range []string{"missing", "stale", "data", "expiry"} {
			want, _, _ := local.Get(ctx, id)
			got, found, err := dist.Get(ctx, id)
			if err != nil || !found || string(got.Data) != string(want.Data) || got.Version != want.Version || !got.ExpiresAt.Equal(want.ExpiresAt) {
				t.Errorf("%s after repair: got %+v %v %v, want local's %+v", id, got, found, err, want)
			}
		}
		if got, _, _ := dist.Get(ctx, "overtaken"); string(got.Data) != "newest" || got.Version != 6 {
			t.Errorf("overtaken: got %+v, want the newer write v6 kept", got)
		}
		if got, found, _ := dist.Get(ctx, "extra"); !found || got.Version != 3 {
			t.Errorf("extra (in Redis alone) after repair: got %+v found=%v, want it kept", got, found)
		}
		for _, id := range []string{"resurrected"} {
			looks, err := dist.GetMany(ctx, []string{id})
			if err != nil || looks[0].Found || !looks[0].Tombstoned {
				t.Errorf("%s after repair: got %+v %v, want a tombstone and no data", id, looks, err)
			}
			// The tombstone blocks an older copy.
			mustSet(t, dist, id, record("late", 3))
			if _, found, _ := dist.Get(ctx, id); found {
				t.Errorf("%s: an older copy came back after the repair's tombstone", id)
			}
		}
		// A second diff finds nothing.
		mms = nil
		pass, err = consistency.LocalPass(ctx, cfg)
		if err != nil || pass.Mismatches.Total() != 0 {
			t.Errorf("diff after repair: %+v, %v; want clean", pass.Mismatches, err)
		}
	})
}

// TestRepairerKinds: only the kinds asked for are repaired; the rest are
// counted as left.
func TestRepairerKinds(t *testing.T) {
	forEachRedis(t, func(t *testing.T, _ redis.UniversalClient, dist *redisstore.Store) {
		r, err := consistency.NewRepairer(consistency.RepairConfig{Distributed: dist, Kinds: []consistency.Kind{consistency.Missing}})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		r.Add(ctx, consistency.Mismatch{ID: "a", Kind: consistency.Missing, Local: record("x", 1), LocalFound: true})
		r.Add(ctx, consistency.Mismatch{ID: "b", Kind: consistency.Extra, Distributed: record("x", 1), DistributedFound: true})
		res, err := r.Flush(ctx)
		if err != nil || res != (consistency.RepairResult{Copied: 1, Left: 1}) {
			t.Fatalf("got %+v, %v; want 1 copied, 1 left", res, err)
		}
	})
	if _, err := consistency.NewRepairer(consistency.RepairConfig{Distributed: newLocal(t), Kinds: []consistency.Kind{"bogus"}}); err == nil {
		t.Error("NewRepairer with an unknown kind: got nil error")
	}
}
