package control

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCheckTransition(t *testing.T) {
	st := func(stage string, percent float64) State { return State{Stage: stage, Percent: percent, Epoch: 5} }
	tripped := st(StageShadow, 0)
	tripped.Rollback = &RollbackInfo{Automatic: true, Signal: "error_rate", Reason: "2% errors", Instance: "web-1", FromStage: StageRamp, FromPercent: 50}

	type want int
	const (
		ok want = iota
		isRefused
		isInvalid
	)
	tests := []struct {
		name    string
		cur     State
		stage   string
		percent float64
		force   bool
		want    want
		msg     string // substring of the error message
	}{
		// forward, one step at a time
		{"local to shadow", st(StageLocal, 0), StageShadow, 0, false, ok, ""},
		{"shadow to dual", st(StageShadow, 0), StageDual, 0, false, ok, ""},
		{"dual to ramp", st(StageDual, 0), StageRamp, 10, false, ok, ""},
		{"dual to ramp 0", st(StageDual, 0), StageRamp, 0, false, ok, ""},
		{"ramp up", st(StageRamp, 10), StageRamp, 50.5, false, ok, ""},
		{"ramp 100 to complete", st(StageRamp, 100), StageComplete, 100, false, ok, ""},
		// skipping
		{"local to dual", st(StageLocal, 0), StageDual, 0, false, isRefused, "the next stage is shadow"},
		{"shadow to ramp", st(StageShadow, 0), StageRamp, 10, false, isRefused, "the next stage is dual"},
		{"local to ramp", st(StageLocal, 0), StageRamp, 10, false, isRefused, "one stage at a time"},
		{"dual to complete", st(StageDual, 0), StageComplete, 100, false, isRefused, "the next stage is ramp"},
		{"skip forced", st(StageLocal, 0), StageRamp, 10, true, ok, ""},
		// complete needs ramp 100
		{"ramp 50 to complete", st(StageRamp, 50), StageComplete, 100, false, isRefused, "complete needs ramp at 100% first, the state is ramp 50%"},
		{"ramp 50 to complete forced", st(StageRamp, 50), StageComplete, 100, true, ok, ""},
		// backward moves
		{"ramp down", st(StageRamp, 50), StageRamp, 10, false, ok, ""},
		{"ramp to dual", st(StageRamp, 50), StageDual, 0, false, ok, ""},
		{"ramp to local", st(StageRamp, 50), StageLocal, 0, false, ok, ""},
		{"dual to shadow", st(StageDual, 0), StageShadow, 0, false, ok, ""},
		// leaving complete
		{"complete to ramp", st(StageComplete, 100), StageRamp, 100, false, isRefused, "leaving complete"},
		{"complete to local", st(StageComplete, 100), StageLocal, 0, false, isRefused, "use force"},
		{"complete to ramp forced", st(StageComplete, 100), StageRamp, 100, true, ok, ""},
		{"complete stays", st(StageComplete, 100), StageComplete, 100, false, ok, ""},
		// no-op
		{"same state", st(StageRamp, 30), StageRamp, 30, false, ok, ""},
		// rolled back
		{"tripped forward", tripped, StageDual, 0, false, isRefused, "run resume first"},
		{"tripped names cause", tripped, StageDual, 0, false, isRefused, "guard error_rate on web-1: 2% errors"},
		{"tripped backward", tripped, StageLocal, 0, false, ok, ""},
		{"tripped forward forced", tripped, StageDual, 0, true, ok, ""},
		// malformed targets, never lifted by force
		{"unknown stage", st(StageLocal, 0), "warp", 0, true, isInvalid, `stage "warp"`},
		{"percent at dual", st(StageShadow, 0), StageDual, 20, true, isInvalid, "stage dual takes 0"},
		{"complete below 100", st(StageRamp, 100), StageComplete, 90, true, isInvalid, "stage complete takes 100"},
		{"percent out of range", st(StageRamp, 10), StageRamp, 101, true, isInvalid, "outside 0..100"},
		{"three decimals", st(StageRamp, 10), StageRamp, 10.005, true, isInvalid, "two decimals"},
		{"unknown current stage", State{Stage: "warp"}, StageLocal, 0, true, isInvalid, "current stage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTransition(tt.cur, tt.stage, tt.percent, tt.force)
			switch tt.want {
			case ok:
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			case isRefused:
				if !errors.Is(err, ErrRefused) || errors.Is(err, ErrInvalid) {
					t.Fatalf("got %v, want ErrRefused", err)
				}
			case isInvalid:
				if !errors.Is(err, ErrInvalid) || errors.Is(err, ErrRefused) {
					t.Fatalf("got %v, want ErrInvalid", err)
				}
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got %q, want it to mention %q", err, tt.msg)
			}
		})
	}
}

func TestClientCheckTransitionDiffGate(t *testing.T) {
	_, rdb := newMini(t)
	clock := newFakeClock()
	c := newClient(t, rdb, Options{Clock: clock.Now, DrainWindow: time.Hour})
	ctx := context.Background()
	rampAt := clock.Now()
	cur := State{Stage: StageRamp, Percent: 100, Epoch: 9, Time: rampAt}
	live := func(t *testing.T, ids ...string) {
		t.Helper()
		for _, id := range ids {
			if err := c.PublishHeartbeat(ctx, Heartbeat{InstanceID: id}, time.Hour); err != nil {
				t.Fatal(err)
			}
		}
	}
	// good is a clean diff at ramp 100 under cur, by instances a and b.
	good := func() DiffResult {
		return DiffResult{Clean: true, Checked: 10, Stage: StageRamp, Percent: 100, Epoch: 9, Participants: []string{"a", "b"}, Instances: 2}
	}
	set := func(d DiffResult) func(t *testing.T) {
		return func(t *testing.T) {
			t.Helper()
			if err := c.SetLastDiff(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
	}
	with := func(edit func(*DiffResult)) DiffResult {
		d := good()
		edit(&d)
		return d
	}

	steps := []struct {
		name  string
		setup func(t *testing.T)
		force bool
		msg   string // "" = allowed
	}{
		{"no diff yet", func(*testing.T) {}, false, "no diff has been recorded"},
		{"no diff, forced", func(*testing.T) {}, true, ""},
		{"dirty diff", func(t *testing.T) {
			clock.Advance(time.Minute)
			set(with(func(d *DiffResult) { d.Clean, d.Missing, d.Mismatched, d.Extra = false, 2, 1, 3 }))(t)
		}, false, "found 2 missing, 1 mismatched and 3 extra"},
		{"partial diff", set(with(func(d *DiffResult) { d.Clean, d.Partial, d.Incomplete = false, true, "instance b left" })), false, "partial: instance b left"},
		{"diff at ramp 50", set(with(func(d *DiffResult) { d.Percent = 50 })), false, "taken at ramp 50%, not at ramp 100%"},
		{"diff under an older epoch", set(with(func(d *DiffResult) { d.Epoch = 8 })), false, "predates the current state"},
		{"diff older than the state", set(with(func(d *DiffResult) { d.At = rampAt.Add(-time.Second) })), false, "predates the current state"},
		{"a live instance took no part", func(t *testing.T) {
			set(good())(t)
			live(t, "a", "b", "c")
		}, false, "instance c did not take part"},
		{"clean diff inside the drain window", func(t *testing.T) {
			if err := c.RemoveHeartbeat(ctx, "c"); err != nil {
				t.Fatal(err)
			}
		}, false, "drain window has not passed"},
		{"clean diff after the drain window", func(*testing.T) { clock.Advance(time.Hour) }, false, ""},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			step.setup(t)
			err := c.CheckTransition(ctx, cur, StageComplete, 100, step.force)
			if step.msg == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), step.msg) {
				t.Fatalf("got %v, want ErrRefused mentioning %q", err, step.msg)
			}
		})
	}

	t.Run("order rules still apply", func(t *testing.T) {
		err := c.CheckTransition(ctx, State{Stage: StageDual}, StageComplete, 100, false)
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "next stage is ramp") {
			t.Fatalf("got %v, want the one-step refusal", err)
		}
	})
	t.Run("other moves do not read the diff", func(t *testing.T) {
		if err := rdb.Set(ctx, c.keys.lastDiff, "garbage", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if err := c.CheckTransition(ctx, cur, StageRamp, 50, false); err != nil {
			t.Fatalf("got %v, want nil", err)
		}
		err := c.CheckTransition(ctx, cur, StageComplete, 100, false)
		if !errors.Is(err, ErrCorruptState) {
			t.Fatalf("got %v, want ErrCorruptState for a garbage diff record", err)
		}
	})
}

func TestLastDiff(t *testing.T) {
	_, rdb := newMini(t)
	clock := newFakeClock()
	c := newClient(t, rdb, Options{Clock: clock.Now})
	ctx := context.Background()
	if _, found, err := c.LastDiff(ctx); err != nil || found {
		t.Fatalf("got found %v, err %v, want false, nil", found, err)
	}
	in := DiffResult{Epoch: 4, Stage: StageRamp, Percent: 100, Clean: true, Checked: 1000, Instances: 2, Actor: "ann",
		Participants: []string{"a", "b"}, Kinds: map[string]int64{"missing": 0}, Job: "diff-1"}
	if err := c.SetLastDiff(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, found, err := c.LastDiff(ctx)
	if err != nil || !found {
		t.Fatalf("got found %v, err %v, want true, nil", found, err)
	}
	in.At = clock.Now()
	if !reflect.DeepEqual(got, in) {
		t.Fatalf("got %+v, want %+v", got, in)
	}
	for _, bad := range []DiffResult{{Clean: true, Missing: 1}, {Clean: true, Mismatched: 1}, {Clean: true, Extra: 1},
		{Clean: true, Partial: true}, {Checked: -1}, {Kinds: map[string]int64{"weird": 1}}, {Kinds: map[string]int64{"stale": -1}}, {Job: "a b"}} {
		if err := c.SetLastDiff(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("SetLastDiff(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
}

func ExampleCheckTransition() {
	cur := State{Stage: StageShadow, Epoch: 3}
	fmt.Println(CheckTransition(cur, StageDual, 0, false))
	fmt.Println(CheckTransition(cur, StageRamp, 10, false))
	fmt.Println(CheckTransition(cur, StageRamp, 10, true))
	// Output:
	// <nil>
	// control: refused: cannot move from shadow to ramp: the next stage is dual (forward moves go one stage at a time; use force to skip)
	// <nil>
}
