package consistency_test

import (
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/consistency"
	"github.com/sessionmigrate/sessionmigrate/redact"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// confirmedIDs collects OnMismatch calls.
type confirmedIDs struct {
	mu  sync.Mutex
	got map[string]consistency.Mismatch
}

func (c *confirmedIDs) add(mm consistency.Mismatch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.got == nil {
		c.got = map[string]consistency.Mismatch{}
	}
	c.got[mm.ID] = mm
}

// TestLocalPassKinds plants every situation a local session can be in
// against the distributed store and checks the pass's verdicts: each
// mismatch kind confirmed with a redacted sample, and newer or deleted
// distributed copies counted as superseded, not as mismatches.
func TestLocalPassKinds(t *testing.T) {
	forEachRedis(t, func(t *testing.T, _ redis.UniversalClient, dist *redisstore.Store) {
		local := newLocal(t)
		later := store.Record{Data: []byte("x"), Version: 5, ExpiresAt: expiry.Add(time.Minute)}
		type plant struct {
			local store.Record
			dist  *store.Record
			tomb  uint64 // a tombstone at this version in dist
			want  consistency.Kind
		}
		plants := map[string]plant{
			"same":                 {record("x", 5), ptr(record("x", 5)), 0, consistency.Match},
			"missing":              {record("x", 5), nil, 0, consistency.Missing},
			"stale":                {record("new", 5), ptr(record("old", 4)), 0, consistency.Stale},
			"data":                 {record("x", 5), ptr(record("y", 5)), 0, consistency.Data},
			"expiry":               {record("x", 5), &later, 0, consistency.Expiry},
			"newer there":          {record("x", 5), ptr(record("y", 6)), 0, ""},
			"deleted there":        {record("x", 5), nil, 5, ""},
			"written after delete": {record("x", 7), nil, 5, consistency.Missing},
			"in flight":            {record("x", 5), nil, 0, "skip"},
		}
		for id, p := range plants {
			mustSet(t, local, id, p.local)
			if p.dist != nil {
				mustSet(t, dist, id, *p.dist)
			}
			if p.tomb > 0 {
				mustDeleteVersion(t, dist, id, p.tomb)
			}
		}
		var got confirmedIDs
		res, err := consistency.LocalPass(testCtx(t), consistency.DiffConfig{
			Local: local, Distributed: dist, Delay: time.Millisecond, Batch: 3,
			RedactKey: "salt", Instance: "i1", MemberKey: "k",
			InFlight:   func(id string) bool { return id == "in flight" },
			OnMismatch: got.add,
		})
		if err != nil {
			t.Fatalf("LocalPass: %v", err)
		}
		want := consistency.Counts{Missing: 2, Stale: 1, Data: 1, Expiry: 1}
		if res.Mismatches != want {
			t.Errorf("mismatches: got %+v, want %+v", res.Mismatches, want)
		}
		if res.Checked != 8 || res.Skipped != 1 || res.Superseded != 2 || res.InDistributed != 5 || res.Changed != 0 {
			t.Errorf("counts: got checked %d skipped %d superseded %d in distributed %d changed %d, want 8 1 2 5 0",
				res.Checked, res.Skipped, res.Superseded, res.InDistributed, res.Changed)
		}
		for id, p := range plants {
			mm, ok := got.got[id]
			switch p.want {
			case consistency.Match, "", "skip":
				if ok {
					t.Errorf("%s: confirmed as %s, want no mismatch", id, mm.Kind)
				}
			default:
				if !ok || mm.Kind != p.want {
					t.Errorf("%s: got %+v (confirmed %v), want %s", id, mm.Kind, ok, p.want)
				}
			}
		}
		if len(res.Samples) != 5 {
			t.Fatalf("samples: got %d, want 5", len(res.Samples))
		}
		for _, s := range res.Samples {
			if !redact.IsID(s.Session) || s.Instance != "i1" {
				t.Errorf("sample %+v: want a redacted session and instance i1", s)
			}
			if p := plants[idOf(t, s.Session, plants)]; p.want != s.Kind {
				t.Errorf("sample %+v: kind does not match the planted %s", s, p.want)
			}
		}
		if res.Members == nil || res.Members.Len() != len(plants) {
			t.Errorf("members: got %v, want the %d local sessions", res.Members, len(plants))
		}
	})
}

// idOf finds the planted id whose redacted form is session.
func idOf[V any](t *testing.T, session string, ids map[string]V) string {
	t.Helper()
	for id := range ids {
		if redact.ID("salt", id) == session {
			return id
		}
	}
	t.Fatalf("sample %s matches no planted id", session)
	return ""
}

// TestLocalPassRecheck: a difference gone by the re-check (repaired, or a
// write that was under way) is counted as changed, never confirmed; one
// still there is confirmed once.
func TestLocalPassRecheck(t *testing.T) {
	forEachRedis(t, func(t *testing.T, _ redis.UniversalClient, dist *redisstore.Store) {
		local := newLocal(t)
		mustSet(t, local, "fixed", record("x", 5))
		mustSet(t, local, "rewritten", record("x", 5))
		mustSet(t, local, "kept", record("x", 5))
		h := &hookedDist{Store: dist}
		h.onRead = func(n int) {
			if n == 2 { // the re-check's read: fixed in between, and a new local write
				mustSet(t, dist, "fixed", record("x", 5))
				mustSet(t, local, "rewritten", record("y", 6))
			}
		}
		var got confirmedIDs
		res, err := consistency.LocalPass(testCtx(t), consistency.DiffConfig{
			Local: local, Distributed: h, Delay: 20 * time.Millisecond, OnMismatch: got.add,
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Mismatches != (consistency.Counts{Missing: 1}) || res.Changed != 2 {
			t.Errorf("got mismatches %+v changed %d, want 1 missing and 2 changed", res.Mismatches, res.Changed)
		}
		if _, ok := got.got["kept"]; !ok || len(got.got) != 1 {
			t.Errorf("confirmed: got %v, want only kept", got.got)
		}
	})
}

// TestLocalPassRate: the rate limit holds the pass back.
func TestLocalPassRate(t *testing.T) {
	forEachRedis(t, func(t *testing.T, _ redis.UniversalClient, dist *redisstore.Store) {
		local := newLocal(t)
		for i := range 40 {
			mustSet(t, local, "s"+strconv.Itoa(i), record("x", 1))
			mustSet(t, dist, "s"+strconv.Itoa(i), record("x", 1))
		}
		start := time.Now()
		res, err := consistency.LocalPass(testCtx(t), consistency.DiffConfig{Local: local, Distributed: dist, Batch: 10, Rate: 200})
		if err != nil || res.Checked != 40 {
			t.Fatalf("LocalPass: checked %d, %v", res.Checked, err)
		}
		// 40 sessions at 200/s: the last batch may leave after 150ms.
		if took := time.Since(start); took < 150*time.Millisecond {
			t.Errorf("40 sessions at 200/s took %v, want at least 150ms", took)
		}
	})
}

// TestExtras: the distributed store's sessions that no local store holds
// are found with one scan, those an instance holds by the time it is asked
// are dropped, and the rest are confirmed as Extra with their evidence.
func TestExtras(t *testing.T) {
	forEachRedis(t, func(t *testing.T, rdb redis.UniversalClient, dist *redisstore.Store) {
		ctx := testCtx(t)
		a, b := newLocal(t), newLocal(t)
		for i := range 300 {
			id := "s" + strconv.Itoa(i)
			owner := a
			if i%2 == 1 {
				owner = b
			}
			mustSet(t, owner, id, record("x", 3))
			mustSet(t, dist, id, record("x", 3))
		}
		mustSet(t, dist, "orphan", record("x", 3))
		mustSet(t, dist, "unversioned", record("x", 0))
		mustSet(t, dist, "resurrected", record("x", 3))
		mustDeleteVersion(t, dist, "resurrected", 4)
		if err := rdb.Set(ctx, redisstore.DefaultPrefix+"resurrected", "back", time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		mustSet(t, dist, "adopted", record("x", 3))
		mustSet(t, dist, "gone", record("x", 3))
		// b deleted it, but Redis lost the delete (a failover).
		mustSet(t, dist, "lost-delete", record("x", 3))
		mustDeleteVersion(t, b, "lost-delete", 4)

		const key = "member-key"
		cfg := consistency.DiffConfig{Local: a, Distributed: dist, MemberKey: key, Delay: time.Millisecond, RedactKey: "salt"}
		var sets []*consistency.Members
		for _, l := range []store.Store{a, b} {
			c := cfg
			c.Local = l
			res, err := consistency.LocalPass(ctx, c)
			if err != nil || res.Mismatches.Total() != 0 {
				t.Fatalf("LocalPass: %+v, %v", res.Mismatches, err)
			}
			sets = append(sets, res.Members)
		}
		scan, err := consistency.ScanExtras(ctx, cfg, consistency.Union(sets...))
		if err != nil {
			t.Fatal(err)
		}
		cands := slices.Sorted(slices.Values(scan.Candidates))
		if want := []string{"adopted", "gone", "lost-delete", "orphan", "resurrected", "unversioned"}; !slices.Equal(cands, want) {
			t.Fatalf("candidates: got %v, want %v", cands, want)
		}
		if scan.Scanned < 305 {
			t.Errorf("scanned %d ids, want at least 305", scan.Scanned)
		}
		// Since the scan: b adopted one (a lazy copy), one was deleted.
		mustSet(t, b, "adopted", record("x", 3))
		mustDeleteVersion(t, dist, "gone", 9)
		asked := consistency.CandidateHashes(key, scan.Candidates)
		var held, deleted []*consistency.Members
		for _, l := range []store.Store{a, b} {
			h, d, err := consistency.Held(ctx, l, key, asked)
			if err != nil {
				t.Fatal(err)
			}
			held, deleted = append(held, h), append(deleted, d)
		}
		var got confirmedIDs
		cfg.OnMismatch = got.add
		res, err := consistency.ConfirmExtras(ctx, cfg, scan.Candidates, consistency.Union(held...), consistency.Union(deleted...))
		if err != nil {
			t.Fatal(err)
		}
		if res.Mismatches != (consistency.Counts{Extra: 3}) || res.Changed != 2 || res.RedisOnly != 1 {
			t.Errorf("got %+v changed %d redis-only %d, want 3 extras, 2 changed and 1 redis-only", res.Mismatches, res.Changed, res.RedisOnly)
		}
		if mm, ok := got.got["orphan"]; ok {
			t.Errorf("orphan: confirmed as %+v, want it counted as redis-only (a restarted instance's session)", mm)
		}
		wantEvidence := map[string]string{
			"unversioned": consistency.EvidenceUnversioned,
			"resurrected": consistency.EvidenceTombstone,
			"lost-delete": consistency.EvidenceDeleted,
		}
		for id, ev := range wantEvidence {
			if mm := got.got[id]; mm.Kind != consistency.Extra || mm.Evidence != ev {
				t.Errorf("%s: got %+v, want an extra with evidence %s", id, mm, ev)
			}
		}
		for _, s := range res.Samples {
			if s.Evidence != wantEvidence[idOf(t, s.Session, wantEvidence)] || s.Instance != "" {
				t.Errorf("sample %+v: evidence or instance wrong", s)
			}
		}
	})
}
