package e2e

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/internal/vuser"
)

// Propagation measurement: how many changes, and the bound on the p99 of
// the time from migratectl's write to the last instance applying it.
const (
	propagationChanges = 40
	propagationP99     = 100 * time.Millisecond
)

// TestPropagation measures, under load, how long a change written by
// migratectl takes to be applied by all three instances: the state's write
// time (stamped by migratectl) to each instance's Since (stamped when it
// swapped its routing). Both clocks are this machine's. The changes
// alternate ramp 10 and ramp 10.5 so that each one moves routing.
func TestPropagation(t *testing.T) {
	skipShort(t)
	srv := redistest.StartServer(t)
	insts := startInstances(t, 3, srv.Addr, instanceConfig{})
	op := operator{t: t, addr: srv.Addr}
	ctl := controlReader(t, srv.Addr)
	load := startLoad(t, insts, vuser.Config{})
	for _, stage := range []string{"shadow", "dual"} {
		waitApplied(t, insts, op.change("stage", stage, "--reason", "e2e propagation: setup"), applyBound)
	}

	var all, each []time.Duration // per change (slowest instance), per instance
	for i := range propagationChanges {
		percent := "10"
		if i%2 == 1 {
			percent = "10.5"
		}
		st := op.change("ramp", percent, "--reason", fmt.Sprintf("e2e propagation %d", i+1))
		if st.Time == nil {
			t.Fatalf("migratectl wrote %s without a time", st)
		}
		// The time is the one the instances' control plane holds.
		if cur, err := ctl.State(context.Background()); err != nil || cur.Epoch != st.Epoch || !cur.Time.Equal(*st.Time) {
			t.Fatalf("control state %s at %s (%v), want migratectl's %s at %s", cur, cur.Time, err, st, st.Time)
		}
		var slowest time.Duration
		for j, s := range waitApplied(t, insts, st, applyBound) {
			d := s.Since.Sub(*st.Time)
			if d < 0 {
				t.Errorf("change %d: %s applied %s before migratectl wrote it (clock?)", i+1, insts[j].Name, -d)
			}
			each = append(each, d)
			slowest = max(slowest, d)
		}
		all = append(all, slowest)
	}
	checkClean(t, load.Stop())

	t.Logf("propagation to all %d instances over %d changes: %s", len(insts), len(all), summarize(all))
	t.Logf("propagation per instance over %d applications: %s", len(each), summarize(each))
	if p99 := percentile(all, 0.99); p99 >= propagationP99 {
		t.Errorf("propagation p99 to all instances: got %s, want < %s", p99, propagationP99)
	}
}

// percentile returns the nearest-rank p-quantile of ds (0 < p <= 1).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[max(int(math.Ceil(p*float64(len(s))))-1, 0)]
}

// summarize returns "p50=… p99=… max=…" for ds.
func summarize(ds []time.Duration) string {
	return fmt.Sprintf("p50=%s p99=%s max=%s",
		percentile(ds, 0.5).Round(10*time.Microsecond), percentile(ds, 0.99).Round(10*time.Microsecond),
		percentile(ds, 1).Round(10*time.Microsecond))
}
