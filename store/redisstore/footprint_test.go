package redisstore

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// TestRemoveSidecars: the dry run counts and changes nothing; the real run
// leaves exactly the data keys, each with its expiry, and nothing of
// another application; both forms of sidecar key (brace-free and
// slot-tagged ids) are found, and tombstones counted apart.
func TestRemoveSidecars(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		ctx := testContext(t)
		s, c := newTestStore(t, tp, Options{ScanCount: 10})
		exp := time.Now().Add(time.Hour)
		ids := append([]string{}, braceIDs...)
		for i := range 40 {
			ids = append(ids, fmt.Sprintf("session-%02d", i))
		}
		var live []string
		for i, id := range ids {
			if err := s.Set(ctx, id, store.Record{Data: []byte("v-" + id), ExpiresAt: exp, Version: uint64(i + 1)}); err != nil {
				t.Fatal(err)
			}
			if i%4 == 0 {
				if err := s.DeleteVersion(ctx, id, uint64(i+2), exp); err != nil {
					t.Fatal(err)
				}
				continue
			}
			live = append(live, s.opts.Prefix+id)
		}
		// Another application's keys, some shaped like ours.
		foreign := []string{"other:key", "{other:app}:v", "{scs:sessionX}:w", "{abcd}:v:other:x"}
		for _, k := range foreign {
			if err := c.Set(ctx, k, "x", time.Hour).Err(); err != nil {
				t.Fatal(err)
			}
		}
		wantTomb := int64(len(ids) - len(live))
		var progress int
		dry, err := s.RemoveSidecars(ctx, RemoveSidecarsOptions{DryRun: true, Progress: func(SidecarCounts) { progress++ }})
		if err != nil {
			t.Fatal(err)
		}
		if dry.Records != int64(len(live)) || dry.Tombstones != wantTomb || dry.Other != 0 || dry.Removed != 0 {
			t.Errorf("dry run: got %+v, want %d records, %d tombstones, nothing removed", dry, len(live), wantTomb)
		}
		if progress == 0 {
			t.Errorf("dry run: no progress reported")
		}
		before := keyNames(t, tp)
		if n := len(before); n != 2*len(live)+int(wantTomb)+len(foreign) {
			t.Fatalf("after the dry run: got %d keys, want %d", n, 2*len(live)+int(wantTomb)+len(foreign))
		}
		got, err := s.RemoveSidecars(ctx, RemoveSidecarsOptions{Batch: 7})
		if err != nil {
			t.Fatal(err)
		}
		if got.Removed != got.Found() || got.Records != dry.Records || got.Tombstones != dry.Tombstones {
			t.Errorf("removal: got %+v, want the dry run's %+v all removed", got, dry)
		}
		want := append(slices.Clone(live), foreign...)
		slices.Sort(want)
		after := keyNames(t, tp)
		if !slices.Equal(after, want) {
			t.Errorf("keys left: got %d %q, want the data keys and the foreign keys (%d)", len(after), after, len(want))
		}
		for _, k := range live {
			ms, err := c.PExpireTime(ctx, k).Result()
			if err != nil || ms != time.Duration(exp.UnixMilli())*time.Millisecond {
				t.Errorf("%s: PEXPIRETIME %v (%v), want %d", strings.TrimPrefix(k, s.opts.Prefix), ms, err, exp.UnixMilli())
			}
		}
		again, err := s.RemoveSidecars(ctx, RemoveSidecarsOptions{})
		if err != nil || again.Found() != 0 {
			t.Errorf("second run: got %+v, %v; want nothing found", again, err)
		}
	})
}

// keyNames returns the sorted names of every key of tp.
func keyNames(t *testing.T, tp topology) []string {
	t.Helper()
	var out []string
	for _, k := range allKeys(t, tp) {
		out = append(out, k.key)
	}
	slices.Sort(out)
	return out
}
