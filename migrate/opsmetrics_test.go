package migrate

import (
	"strings"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature/memprovider"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// TestAppliedEpochMetric: sessionmigrate_applied_epoch follows the epoch
// the flags serve, which is what the "instance not converged" alert
// compares across a fleet.
func TestAppliedEpochMetric(t *testing.T) {
	flags := flagSet("dual", 0)
	flags[FlagEpoch] = memprovider.InMemoryFlag{Key: FlagEpoch, State: memprovider.Enabled, DefaultVariant: "v", Variants: map[string]any{"v": int64(7)}}
	p, client := newFlags(t, "dual", 0)
	p.UpdateFlags(flags)
	f := newFixture(t, Options{Flags: client, PollInterval: 10 * time.Millisecond})
	waitFor(t, "epoch 7 applied", func() bool { return f.m.State().Epoch == 7 })
	want := "# HELP sessionmigrate_applied_epoch Control-plane epoch of the state this instance applies (0 when the flag provider serves none).\n" +
		"# TYPE sessionmigrate_applied_epoch gauge\nsessionmigrate_applied_epoch 7\n"
	if err := testutil.GatherAndCompare(f.reg, strings.NewReader(want), "sessionmigrate_applied_epoch"); err != nil {
		t.Error(err)
	}
}

// TestJobGauges: a part's progress shows while it runs and stays once it
// is over; the next part of the kind starts from zero.
func TestJobGauges(t *testing.T) {
	f := newFixture(t, Options{})
	g := &f.m.jobGauges
	value := func(name string, kind control.JobKind) float64 {
		t.Helper()
		mfs, err := f.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, m := range mf.GetMetric() {
				if m.GetLabel()[0].GetValue() == string(kind) {
					return m.GetGauge().GetValue()
				}
			}
		}
		t.Fatalf("%s{kind=%q} not exported", name, kind)
		return 0
	}
	check := func(step string, kind control.JobKind, running, done, planned float64) {
		t.Helper()
		for _, c := range []struct {
			name string
			want float64
		}{{"sessionmigrate_job_running", running}, {"sessionmigrate_job_done_sessions", done}, {"sessionmigrate_job_planned_sessions", planned}} {
			if got := value(c.name, kind); got != c.want {
				t.Errorf("%s: %s{kind=%q}: got %v, want %v", step, c.name, kind, got, c.want)
			}
		}
	}
	for _, k := range jobKinds {
		check("before any job", k, 0, 0, 0)
	}
	over := g.start(control.JobBackfill)
	g.progress(control.JobBackfill, 40, 100)
	check("running", control.JobBackfill, 1, 40, 100)
	check("other kind", control.JobDiff, 0, 0, 0)
	over()
	check("over", control.JobBackfill, 0, 40, 100)
	over = g.start(control.JobBackfill)
	check("next part", control.JobBackfill, 1, 0, 0)
	over()
}
