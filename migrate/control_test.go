package migrate

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/migrate/control"
	"github.com/sessionmigrate/sessionmigrate/redact"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// TestControlPlaneTripAndResume runs the whole loop on a real redis-server:
// the operator ramps through the control plane, a distributed outage trips
// the guard, the Migrator publishes an automatic rollback that the control
// plane records, and the operator's resume (through the provider's flags)
// releases the latch.
func TestControlPlaneTripAndResume(t *testing.T) {
	ctx := context.Background()
	cp := startControlPlane(t, 100*time.Millisecond)
	ctl := cp.ctl
	fs := faultstore.New(redisstore.New(cp.rdb, redisstore.Options{}))
	m := cp.migrator(t, fs)
	set := cp.set
	set(control.StageShadow, 0)
	set(control.StageDual, 0)
	want := set(control.StageRamp, 100)
	waitFor(t, "ramp 100 applied", func() bool {
		st := m.State()
		return st.Stage == Ramp && st.Percent == 100 && st.Epoch == want.Epoch
	})
	for i := range 10 {
		if err := m.Set(ctx, "s"+strconv.Itoa(i), rec("v")); err != nil {
			t.Fatal(err)
		}
	}

	if err := fs.SetFault(faultstore.Fault{Outage: true}); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if _, found, err := m.Get(ctx, "s"+strconv.Itoa(i)); err != nil || !found {
			t.Fatalf("Get during outage: found=%v err=%v", found, err)
		}
	}
	if st := m.State(); !st.Tripped || st.Stage != Shadow {
		t.Fatalf("after outage: %+v, want tripped to shadow", st)
	}
	var rolled control.State
	waitFor(t, "automatic rollback recorded in the control plane", func() bool {
		s, err := ctl.State(ctx)
		rolled = s
		return err == nil && s.Rollback != nil
	})
	if !rolled.Rollback.Automatic || rolled.Rollback.Signal != "consecutive_failures" || rolled.Rollback.Instance != "test-1" ||
		rolled.Stage != control.StageShadow || rolled.Rollback.FromStage != control.StageRamp || rolled.Rollback.FromPercent != 100 {
		t.Fatalf("rollback state: %+v / %+v", rolled, *rolled.Rollback)
	}
	hist, err := ctl.History(ctx, 1)
	if err != nil || len(hist) != 1 || hist[0].Kind != control.KindRollback {
		t.Fatalf("history: %+v, %v", hist, err)
	}
	// The rollback's own flags must not release the latch.
	waitFor(t, "rollback epoch applied", func() bool { return m.State().Epoch == rolled.Epoch })
	if st := m.State(); !st.Tripped {
		t.Fatalf("latch released by the rollback itself: %+v", st)
	}

	fs.Reset()
	resumed, err := ctl.Resume(ctx, "operator", "redis healed")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "resume releases the latch", func() bool {
		st := m.State()
		return !st.Tripped && st.Stage == Ramp && st.Percent == 100 && st.Epoch == resumed.Epoch
	})
	if m.Guard().Tripped() {
		t.Fatal("guard still tripped after resume")
	}
}

// TestCorruptControlStateKeepsLastGood: a corrupt state in Redis leaves every
// instance on its last good state, and the Migrator reports it (State and
// heartbeats) until the state is repaired.
func TestCorruptControlStateKeepsLastGood(t *testing.T) {
	ctx := context.Background()
	cp := startControlPlane(t, 50*time.Millisecond)
	ctl, rdb := cp.ctl, cp.rdb
	dist := memstore.New()
	defer dist.Close()
	m := cp.migrator(t, dist)
	st := cp.set(control.StageShadow, 0)
	waitFor(t, "shadow applied", func() bool { return m.State().Stage == Shadow && m.State().Epoch == st.Epoch })

	if err := rdb.Set(ctx, ctl.StateKey(), "{not json", 0).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the corrupt state reported", func() bool { return m.State().FlagError != "" })
	if got := m.State(); got.Stage != Shadow || got.Epoch != st.Epoch {
		t.Fatalf("corrupt state changed routing: %+v", got)
	}
	hb := m.HeartbeatCollector("i1", "h", "v")()
	if hb.LastStateError == "" {
		t.Fatal("heartbeat does not report the unreadable state")
	}
	if want := redact.SaltID(m.opts.Salt); hb.SaltID != want {
		t.Errorf("heartbeat salt id: got %q, want %q", hb.SaltID, want)
	}

	if _, err := ctl.Repair(ctx, control.State{Stage: control.StageShadow, Actor: "test", Reason: "repair"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the report cleared after repair", func() bool { return m.State().FlagError == "" })
}

// controlPlane is a real redis-server with the control plane on it and an
// OpenFeature API following it through the control plane's provider.
type controlPlane struct {
	t    *testing.T
	rdb  *redis.Client
	ctl  *control.Client
	api  *openfeature.EvaluationAPI
	poll time.Duration
}

func startControlPlane(t *testing.T, poll time.Duration) *controlPlane {
	t.Helper()
	rdb := redistest.StartServer(t).Client(t)
	ctl, err := control.New(rdb, control.Options{PollInterval: poll})
	if err != nil {
		t.Fatal(err)
	}
	api := isolated.NewAPI()
	if err := api.SetProviderAndWait(context.Background(), ctl.NewProvider()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Shutdown(context.Background()) })
	return &controlPlane{t: t, rdb: rdb, ctl: ctl, api: api, poll: poll}
}

// migrator returns a Migrator over a fresh memstore and dist that follows
// the control plane and publishes its trips there as instance "test-1".
func (cp *controlPlane) migrator(t *testing.T, dist store.Store) *Migrator {
	t.Helper()
	local := memstore.New()
	m, err := New(local, dist, Options{
		Flags: cp.api.NewClient(), PollInterval: cp.poll,
		Publisher: ControlPublisher(cp.ctl, "test-1"), Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.Close()
		local.Close()
	})
	return m
}

// set moves the control plane's state as an operator would.
func (cp *controlPlane) set(stage string, percent float64) control.State {
	cp.t.Helper()
	st, err := cp.ctl.Apply(context.Background(), func(cur control.State) (control.State, error) {
		cur.Stage, cur.Percent, cur.Actor, cur.Reason = stage, percent, "test", "test "+stage
		return cur, nil
	})
	if err != nil {
		cp.t.Fatal(err)
	}
	return st
}

// TestControlPlaneForce: through the toolkit's own provider, leaving
// complete is refused until the state is written with force (migratectl
// --force), which the history records.
func TestControlPlaneForce(t *testing.T) {
	ctx := context.Background()
	cp := startControlPlane(t, 20*time.Millisecond)
	m := cp.migrator(t, redisstore.New(cp.rdb, redisstore.Options{}))
	r100 := cp.set(control.StageRamp, 100)
	// Complete is entered only from ramp 100: the instance must apply it first.
	waitFor(t, "ramp 100 applied", func() bool { return m.State().Epoch == r100.Epoch })
	want := cp.set(control.StageComplete, 100)
	waitFor(t, "complete applied", func() bool { return m.State().Epoch == want.Epoch })
	if st := m.State(); st.Stage != Complete {
		t.Fatalf("got %+v, want complete", st)
	}

	refused := cp.set(control.StageDual, 0)
	waitFor(t, "the refusal", func() bool { return m.State().FlagError != "" })
	if st := m.State(); st.Stage != Complete || st.Epoch == refused.Epoch {
		t.Fatalf("dual without force: %+v, want complete kept at the earlier epoch", st)
	}

	cur, err := cp.ctl.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cur.Actor, cur.Reason = "test", "back to dual, forced"
	forced, err := cp.ctl.UpdateForced(ctx, cur.Epoch, cur)
	if err != nil {
		t.Fatal(err)
	}
	if !forced.Force {
		t.Fatalf("UpdateForced wrote %+v without Force", forced)
	}
	waitFor(t, "dual with force", func() bool {
		st := m.State()
		return st.Stage == Dual && st.Epoch == forced.Epoch && st.FlagError == ""
	})
	hist, err := cp.ctl.History(ctx, 1)
	if err != nil || len(hist) != 1 || !hist[0].Force {
		t.Fatalf("history: %+v, %v: want the forced change", hist, err)
	}
	// The next change without force clears the flag.
	if next := cp.set(control.StageRamp, 10); next.Force {
		t.Fatalf("a change without force kept Force: %+v", next)
	}
}
