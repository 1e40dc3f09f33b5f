package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/migrate/control"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// TestFinish: refused before complete, while an instance runs the toolkit
// and within the drain window (exit 3, nothing removed); the dry run
// counts; the real run exports the audit and leaves exactly the scs
// layout.
func TestFinish(t *testing.T) {
	ctx := context.Background()
	s := redistest.StartServer(t)
	h := newHarness(t)
	h.env["MIGRATECTL_REDIS_ADDR"] = s.Addr
	h.env["MIGRATECTL_CONTROL_PREFIX"] = "sessionmigrate"
	rdb := h.rdbAt()
	rs := redisstore.New(rdb, redisstore.Options{})
	exp := time.Now().Add(time.Hour)
	for i, id := range []string{"s1", "s2", "s3"} {
		if err := rs.Set(ctx, id, store.Record{Data: []byte("data-" + id), ExpiresAt: exp, Version: uint64(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := rs.DeleteVersion(ctx, "s3", 9, exp); err != nil {
		t.Fatal(err)
	}
	c, err := control.New(rdb, control.Options{})
	if err != nil {
		t.Fatal(err)
	}
	audit := filepath.Join(t.TempDir(), "audit.json")
	finish := func(extra ...string) result {
		return h.run(append([]string{"finish", "--reason", "done", "--audit-file", audit}, extra...)...)
	}
	set := func(stage string, percent float64) {
		if _, err := c.Apply(ctx, func(cur control.State) (control.State, error) {
			cur.Stage, cur.Percent, cur.Actor, cur.Reason = stage, percent, "setup", "test"
			return cur, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	set(control.StageRamp, 100)
	oneLine(t, finish(), "refused: finish needs complete")
	set(control.StageComplete, 100)
	if err := c.PublishHeartbeat(ctx, control.Heartbeat{InstanceID: "web-1", Stage: "complete"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	r := finish()
	if r.code != exitRefused {
		t.Fatalf("with a live instance: got %v, want exit 3", r)
	}
	oneLine(t, r, "1 instances still run the toolkit (web-1)")
	if err := c.RemoveHeartbeat(ctx, "web-1"); err != nil {
		t.Fatal(err)
	}
	h.env["MIGRATECTL_CONTROL_DRAIN_WINDOW"] = "1h"
	oneLine(t, finish(), "wait out the drain window")
	delete(h.env, "MIGRATECTL_CONTROL_DRAIN_WINDOW")
	if _, err := os.Stat(audit); err == nil {
		t.Fatalf("a refused finish wrote the audit file")
	}
	keysBefore, _ := rdb.Keys(ctx, "*").Result()

	var dry finishView
	decodeJSON(t, h.ok("finish", "--reason", "done", "--dry-run", "-o", "json"), &dry)
	if dry.Sidecars.Records != 2 || dry.Sidecars.Tombstones != 1 || dry.Sidecars.Removed != 0 || dry.ControlKeys < 2 || dry.ControlKeysRemoved != 0 {
		t.Errorf("dry run: got %+v", dry)
	}
	if after, _ := rdb.Keys(ctx, "*").Result(); len(after) != len(keysBefore) {
		t.Errorf("the dry run removed keys: %d before, %d after", len(keysBefore), len(after))
	}

	r = h.ok("finish", "--reason", "done", "--audit-file", audit)
	if !strings.Contains(r.stdout, "removed 3 sidecar keys (2 of sessions, 1 tombstones, 0 other)") {
		t.Errorf("finish: got %v", r)
	}
	keys, _ := rdb.Keys(ctx, "*").Result()
	slices.Sort(keys)
	if want := []string{"scs:session:s1", "scs:session:s2"}; !slices.Equal(keys, want) {
		t.Errorf("keys left: got %q, want %q", keys, want)
	}
	for _, k := range keys {
		if ms := rdb.PExpireTime(ctx, k).Val(); ms.Milliseconds() != exp.UnixMilli() {
			t.Errorf("%s: PEXPIRETIME %d, want %d", k, ms.Milliseconds(), exp.UnixMilli())
		}
	}
	b, err := os.ReadFile(audit)
	if err != nil {
		t.Fatal(err)
	}
	var entries []control.AuditEntry
	if err := json.Unmarshal(b, &entries); err != nil || len(entries) != 2 || entries[1].State.Stage != control.StageComplete {
		t.Errorf("audit export: got %d entries (%v), want the 2 changes\n%s", len(entries), err, b)
	}
	if r := h.run("finish", "--reason", "x"); r.code != exitUsage {
		t.Errorf("without --audit-file: got %v, want exit 2", r)
	}
}
