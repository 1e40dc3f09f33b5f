package control

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
)

// TestRedisFinishFootprint: the audit exports oldest first as JSON, the dry
// run counts, RemoveAll leaves no key of the control plane and every key
// that is not its own, on a standalone server and on a cluster.
func TestRedisFinishFootprint(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client func(t *testing.T) redis.UniversalClient
	}{
		{"standalone", func(t *testing.T) redis.UniversalClient { return redistest.StartServer(t).Client(t) }},
		{"cluster", func(t *testing.T) redis.UniversalClient { return redistest.StartCluster(t).Client(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			rdb := tc.client(t)
			c := newClient(t, rdb, Options{Clock: time.Now})
			other := newClient(t, rdb, Options{Prefix: "sessionmigrate2", Clock: time.Now})
			for _, cl := range []*Client{c, other} {
				mustApply(t, cl, to(StageShadow, 0))
				mustApply(t, cl, to(StageDual, 0))
				if err := cl.PublishHeartbeat(ctx, Heartbeat{InstanceID: "i1", Stage: StageDual}, time.Minute); err != nil {
					t.Fatal(err)
				}
			}
			if err := rdb.Set(ctx, "scs:session:abc", "data", time.Hour).Err(); err != nil {
				t.Fatal(err)
			}
			var audit bytes.Buffer
			n, err := c.ExportAudit(ctx, &audit)
			if err != nil {
				t.Fatal(err)
			}
			var entries []AuditEntry
			if err := json.Unmarshal(audit.Bytes(), &entries); err != nil {
				t.Fatalf("the export does not decode: %v\n%s", err, audit.String())
			}
			if n != 2 || len(entries) != 2 || entries[0].State.Stage != StageShadow || entries[1].State.Stage != StageDual {
				t.Fatalf("export: got %d entries %+v, want shadow then dual", n, entries)
			}
			found, removed, err := c.RemoveAll(ctx, RemoveOptions{DryRun: true})
			// state, audit, instances, instance:i1
			if err != nil || found != 4 || removed != 0 {
				t.Fatalf("dry run: got %d found, %d removed, %v; want 4, 0", found, removed, err)
			}
			var calls int
			found, removed, err = c.RemoveAll(ctx, RemoveOptions{Batch: 1, Progress: func(int, int) { calls++ }})
			if err != nil || found != 4 || removed != 4 || calls == 0 {
				t.Fatalf("remove: got %d found, %d removed, %d progress calls, %v; want 4, 4, some", found, removed, calls, err)
			}
			if found, _, _ := c.RemoveAll(ctx, RemoveOptions{DryRun: true}); found != 0 {
				t.Errorf("after removal: %d keys left", found)
			}
			if st, err := other.State(ctx); err != nil || st.Stage != StageDual {
				t.Errorf("another prefix's state: got %v, %v; want dual", st, err)
			}
			if v, err := rdb.Get(ctx, "scs:session:abc").Result(); err != nil || v != "data" {
				t.Errorf("session key: got %q, %v; want it untouched", v, err)
			}
			if n, err := c.ExportAudit(ctx, &audit); err != nil || n != 0 {
				t.Errorf("export after removal: got %d, %v; want an empty export", n, err)
			}
		})
	}
}

// TestRedisClockOffsets: instances whose clocks run ahead or behind show
// that offset against the Redis server's clock.
func TestRedisClockOffsets(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.StartServer(t).Client(t)
	for _, tc := range []struct {
		id   string
		skew time.Duration
	}{{"ahead", 3 * time.Second}, {"behind", -2 * time.Second}, {"on-time", 0}} {
		c := newClient(t, rdb, Options{Clock: func() time.Time { return time.Now().Add(tc.skew) }})
		if err := c.PublishHeartbeat(ctx, Heartbeat{InstanceID: tc.id, Stage: StageLocal}, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	got, err := newClient(t, rdb, Options{}).ClockOffsets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{"ahead": 3 * time.Second, "behind": -2 * time.Second, "on-time": 0}
	if len(got) != len(want) || !slices.IsSortedFunc(got, func(a, b ClockOffset) int { return strings.Compare(a.Instance, b.Instance) }) {
		t.Fatalf("got %+v, want three instances sorted", got)
	}
	for _, o := range got {
		if d := o.Offset - want[o.Instance]; d < -100*time.Millisecond || d > 100*time.Millisecond {
			t.Errorf("%s: got offset %v, want %v within 100ms", o.Instance, o.Offset, want[o.Instance])
		}
	}
}
