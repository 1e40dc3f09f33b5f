package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/alexedwards/scs/goredisstore"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/internal/vuser"
)

// TestSCSAcrossMigration: users of an scs application — sessionapp, whose
// scs.SessionManager keeps its sessions through scsstore in the Migrator —
// log in (a renewed token), write, rotate their token and log out on three
// instances, each user pinned to one, while migratectl moves the sessions
// from local to complete. At every stage the users must have done each of
// these, with no failed request, no logout, no lost write and no
// resurrection. At complete, plain scs on its own Redis store
// (goredisstore), as the application runs after dropping the toolkit,
// lists every live session with All and loads each one as its user knows
// it; no ended session is there.
func TestSCSAcrossMigration(t *testing.T) {
	skipShort(t)
	srv := redistest.StartServer(t)
	rdb := srv.Client(t)
	insts := startInstances(t, 3, srv.Addr, instanceConfig{})
	op := operator{t: t, addr: srv.Addr}
	load := startLoad(t, insts, vuser.Config{})
	progress(t, load, usersPerStep, progressBound)

	steps := [][]string{
		{"stage", "shadow"},
		{"stage", "dual"},
		{"ramp", "10"},
		{"ramp", "50"},
		{"ramp", "100"},
		{"stage", "complete"},
	}
	prev := load.Snapshot()
	for _, args := range steps {
		switch args[len(args)-1] {
		case "ramp":
			// Sessions from before shadow reach Redis (the gate's diff
			// would find them missing otherwise).
			op.job(exitOK, "backfill", "--wait", "--reason", "e2e scs: backfill")
		case "complete":
			// The gate: a clean diff of every instance at ramp 100.
			op.job(exitOK, "diff", "--wait", "--reason", "e2e scs: diff before complete")
		}
		st := op.change(append(args, "--reason", fmt.Sprintf("e2e scs: %v", args))...)
		waitApplied(t, insts, st, applyBound)
		progress(t, load, usersPerStep, progressBound)
		now := load.Snapshot()
		d := now.Sub(prev)
		t.Logf("%v applied: %d logins, %d increments, %d rotations, %d logouts, %d probes of ended sessions",
			args, d.Logins, d.Increments, d.Rotations, d.UserLogouts, d.Probes)
		if d.Logins == 0 || d.Increments == 0 || d.Rotations == 0 || d.UserLogouts == 0 {
			t.Errorf("%v: got %d logins, %d increments, %d rotations, %d logouts; want some of each at every stage",
				args, d.Logins, d.Increments, d.Rotations, d.UserLogouts)
		}
		prev = now
	}
	res := load.Stop()
	checkClean(t, res)
	checkInRedis(t, rdb, res)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	all, err := goredisstore.New(rdb).AllCtx(ctx)
	if err != nil {
		t.Fatalf("goredisstore AllCtx: %v", err)
	}
	for _, s := range res.Live {
		if _, ok := all[s.ID]; !ok {
			t.Errorf("%s's live session is not listed by plain scs", s.User)
		}
	}
	for _, id := range res.Dead {
		if _, ok := all[id]; ok {
			t.Error("plain scs lists an ended session")
		}
	}
	t.Logf("plain scs lists %d sessions in Redis, the %d the users hold among them", len(all), len(res.Live))
}
