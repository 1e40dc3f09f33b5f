package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/internal/vuser"
)

// migratectl's exit codes.
const (
	exitOK      = 0
	exitError   = 1
	exitUsage   = 2
	exitRefused = 3
	// diff --wait: exitDiffBase plus a bit per kind found, plus
	// exitDiffPartial when partial.
	exitDiffBase    = 32
	exitDiffMissing = 1
	exitDiffStale   = 2
	exitDiffExtra   = 4
	exitDiffData    = 8
	exitDiffExpiry  = 16
	exitDiffPartial = 64
)

// Bounds shared by the scenarios. They are generous: a change normally
// reaches every instance in milliseconds (see TestPropagation), and a
// heartbeat every 200ms.
const (
	applyBound     = 3 * time.Second  // a change reaches every instance's /status
	heartbeatBound = 5 * time.Second  // migratectl status shows it
	progressBound  = 15 * time.Second // every user makes a few requests
	usersPerStep   = 80               // requests each user makes at each step
)

// TestRollout is issue 4's "done when": three instances under load follow
// migratectl through shadow, dual, ramp 10, ramp 50, a rollback and a
// resume; on the way, migratectl refuses a skipped stage and a forward move
// while rolled back (exit 3), rejects bad input (exit 2) and reports an
// unreachable Redis (exit 1). Every instance applies every change, migratectl status shows
// each instance's applied epoch, migratectl history lists every change with
// its reason, and no user is logged out, loses a write, sees a dead session
// again or gets an error.
func TestRollout(t *testing.T) {
	skipShort(t)
	srv := redistest.StartServer(t)
	insts := startInstances(t, 3, srv.Addr, instanceConfig{})
	op := operator{t: t, addr: srv.Addr}
	load := startLoad(t, insts, vuser.Config{})
	progress(t, load, usersPerStep, progressBound)

	// Refusals and errors write nothing (checkHistory counts the entries).
	op.fails(exitRefused, "stage", "dual", "--reason", "e2e: skips shadow")
	op.fails(exitUsage, "ramp", "10.555", "--reason", "e2e: three decimals")
	op.fails(exitUsage, "stage", "shadow")
	if _, errOut, code := migratectl(t, "status", "--redis-addr", "127.0.0.1:1", "--timeout", "2s"); code != exitError {
		t.Errorf("migratectl status against a closed port: got exit %d (%s), want %d", code, errOut, exitError)
	}

	steps := []struct {
		args        []string
		stage, kind string
		percent     float64
	}{
		{[]string{"stage", "shadow"}, "shadow", "update", 0},
		{[]string{"stage", "dual"}, "dual", "update", 0},
		{[]string{"ramp", "10"}, "ramp", "update", 10},
		{[]string{"ramp", "50"}, "ramp", "update", 50},
		{[]string{"rollback"}, "shadow", "rollback", 0},
		{[]string{"resume"}, "ramp", "resume", 50},
	}
	written := make([]ctlState, len(steps))
	for i, s := range steps {
		reason := fmt.Sprintf("e2e rollout step %d: %s", i+1, strings.Join(s.args, " "))
		st := op.change(append(s.args, "--reason", reason)...)
		if st.Stage != s.stage || st.Percent != s.percent || st.Reason != reason {
			t.Fatalf("%s: migratectl wrote %s %q, want %s %g%% %q", strings.Join(s.args, " "), st, st.Reason, s.stage, s.percent, reason)
		}
		if wantTripped := s.kind == "rollback"; st.Tripped != wantTripped {
			t.Errorf("%s: wrote tripped=%t, want %t", strings.Join(s.args, " "), st.Tripped, wantTripped)
		}
		written[i] = st
		start := time.Now()
		waitApplied(t, insts, st, applyBound)
		t.Logf("%-9s -> %s applied by all %d instances within %s", strings.Join(s.args, " "), st, len(insts), time.Since(start).Round(time.Millisecond))
		waitConverged(t, op, insts, st)
		if s.kind == "rollback" {
			op.fails(exitRefused, "ramp", "60", "--reason", "e2e: forward while rolled back")
		}
		progress(t, load, usersPerStep, progressBound)
	}
	checkClean(t, load.Stop())
	kinds := make([]string, len(steps))
	for i, s := range steps {
		kinds[i] = s.kind
	}
	checkHistory(t, op, written, kinds)
}

// waitConverged polls `migratectl status -o json` until it lists every
// instance at want's epoch, stage and percent.
func waitConverged(t *testing.T, op operator, insts []*instance, want ctlState) {
	t.Helper()
	var last ctlStatus
	deadline := time.Now().Add(heartbeatBound)
	for {
		last = op.status()
		if last.State.Epoch != want.Epoch {
			t.Fatalf("migratectl status: state epoch %d, want %d (%s)", last.State.Epoch, want.Epoch, want)
		}
		missing := 0
		for _, in := range insts {
			i := slices.IndexFunc(last.Instances, func(c ctlInstance) bool { return c.ID == in.Name })
			if i < 0 {
				missing++
				continue
			}
			c := last.Instances[i]
			if !c.Converged || c.Epoch != want.Epoch || c.Stage != want.Stage || c.Percent != want.Percent {
				missing++
			}
		}
		if missing == 0 && last.Converged {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("migratectl status did not show all %d instances at %s within %s: %+v", len(insts), want, heartbeatBound, last.Instances)
		}
		time.Sleep(100 * time.Millisecond) // pace the CLI runs; the deadline bounds the wait
	}
}

// checkHistory checks that migratectl history lists exactly the changes
// written, oldest first, each with its kind, epoch, state, reason and
// actor.
func checkHistory(t *testing.T, op operator, written []ctlState, kinds []string) {
	t.Helper()
	// Job events (requests, ends) share the audit stream; this checks the
	// state changes.
	entries := slices.DeleteFunc(op.history(len(written)+30), func(e ctlHistoryEntry) bool { return e.Kind == "job" })
	slices.Reverse(entries)
	if len(entries) != len(written) {
		t.Errorf("history: got %d entries, want %d (one per change)", len(entries), len(written))
	}
	for i, w := range written {
		if i >= len(entries) {
			break
		}
		e := entries[i]
		if e.Kind != kinds[i] || e.Epoch != w.Epoch || e.State.Reason != w.Reason || e.State.Actor != "e2e" ||
			e.State.Stage != w.Stage || e.State.Percent != w.Percent {
			t.Errorf("history entry %d: got %s epoch %d %s %q by %q, want %s epoch %d %s %q by e2e",
				i, e.Kind, e.Epoch, e.State, e.State.Reason, e.State.Actor, kinds[i], w.Epoch, w, w.Reason)
		}
	}
	for _, e := range entries {
		t.Logf("history: epoch %d %-8s %-12s %q", e.Epoch, e.Kind, e.State, e.State.Reason)
	}
}
