package migrate

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// TestRepinnedUserAtLocalDuringOutage: two instances on one redis-server.
// At ramp 100 a user logs in on instance A; A restarts (its local store is
// gone) and the load balancer re-pins the user to B, which never saw the
// session. The fleet rolls back to local, and Redis goes down. B's read of
// the session must fail, not answer "not found" (a logout, found by the
// fleet model: seed 14324928308577466887); once Redis answers again the
// session is there. An instance that never routed past local keeps the
// behaviour from before the migration: a Redis failure is a miss.
func TestRepinnedUserAtLocalDuringOutage(t *testing.T) {
	rdb := redistest.StartServer(t).Client(t)
	ctx := context.Background()
	type instance struct {
		local *memstore.Store
		fault *faultstore.Store
		m     *Migrator
	}
	start := func(stage Stage, percent float64) *instance {
		in := &instance{local: memstore.New()}
		in.fault = faultstore.New(redisstore.New(rdb, redisstore.Options{Prefix: "repin:"}))
		m, err := New(in.local, in.fault, Options{Stage: stage, Percent: percent, DisableGuard: true,
			DistTimeout: 200 * time.Millisecond, Registerer: prometheus.NewRegistry()})
		if err != nil {
			t.Fatal(err)
		}
		in.m = m
		t.Cleanup(func() { m.Close(); in.local.Close() })
		return in
	}
	a, b := start(Ramp, 100), start(Ramp, 100)
	const id = "repinned-session"
	if err := a.m.Set(ctx, id, rec("logged in on A")); err != nil {
		t.Fatal(err)
	}
	if err := a.m.Close(); err != nil { // A's process ends with its local store
		t.Fatal(err)
	}
	if err := b.m.SetStage(Local, 0); err != nil { // the rollback
		t.Fatal(err)
	}
	if err := b.fault.SetFault(faultstore.Fault{Outage: true}); err != nil {
		t.Fatal(err)
	}
	if _, found, err := b.m.Get(ctx, id); err == nil {
		t.Fatalf("at local after the rollback, Redis down: found=%v err=nil; want the error (a miss logs the re-pinned user out)", found)
	}
	b.fault.Reset()
	if got, found, err := b.m.Get(ctx, id); err != nil || !found || string(got.Data) != "logged in on A" {
		t.Fatalf("Redis back: %q found=%v err=%v; want the session", got.Data, found, err)
	}

	// Never past local: local does not depend on Redis.
	c := start(Local, 0)
	if err := c.fault.SetFault(faultstore.Fault{Outage: true}); err != nil {
		t.Fatal(err)
	}
	if _, found, err := c.m.Get(ctx, "unknown-session"); err != nil || found {
		t.Fatalf("an instance that never left local, Redis down: found=%v err=%v; want a miss", found, err)
	}
}
