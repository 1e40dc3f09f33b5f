package control_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// exampleClient returns a control client over an in-memory Redis and a
// function that closes both.
func exampleClient() (*control.Client, func()) {
	m := miniredis.NewMiniRedis()
	if err := m.Start(); err != nil {
		panic(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	c, err := control.New(rdb, control.Options{Clock: func() time.Time { return at }})
	if err != nil {
		panic(err)
	}
	return c, func() { rdb.Close(); m.Close() }
}

// A CLI command moving the migration one stage forward: check the rules on
// the state read inside Apply, so a concurrent change is checked again.
func ExampleClient_Apply() {
	c, done := exampleClient()
	defer done()
	ctx := context.Background()

	move := func(stage string, percent float64) {
		s, err := c.Apply(ctx, func(cur control.State) (control.State, error) {
			if err := control.CheckTransition(cur, stage, percent, false); err != nil {
				return cur, err
			}
			if cur.Stage == stage && cur.Percent == percent {
				return cur, control.ErrNoChange
			}
			cur.Stage, cur.Percent = stage, percent
			cur.Actor, cur.Reason = "ann", "runbook step"
			return cur, nil
		})
		switch {
		case errors.Is(err, control.ErrRefused):
			fmt.Println("refused:", err)
		case err != nil:
			fmt.Println("error:", err)
		default:
			fmt.Println("now", s)
		}
	}
	move(control.StageShadow, 0)
	move(control.StageRamp, 10)
	move(control.StageDual, 0)
	move(control.StageDual, 0)
	// Output:
	// now shadow (epoch 1)
	// refused: control: refused: cannot move from shadow to ramp: the next stage is dual (forward moves go one stage at a time; use force to skip)
	// now dual (epoch 2)
	// now dual (epoch 2)
}

// An instance's guard trips, every instance reports it, an operator resumes.
func ExampleClient_Rollback() {
	c, done := exampleClient()
	defer done()
	ctx := context.Background()
	for _, step := range []control.State{{Stage: control.StageShadow}, {Stage: control.StageDual}, {Stage: control.StageRamp, Percent: 25}} {
		step.Actor = "ann"
		cur, _ := c.State(ctx)
		if _, err := c.Update(ctx, cur.Epoch, step); err != nil {
			panic(err)
		}
	}
	for _, inst := range []string{"web-1", "web-2"} {
		s, err := c.Rollback(ctx, control.RollbackRequest{
			Automatic: true, Signal: "error_rate", Reason: "error rate 2.1% over 1%",
			Instance: inst, Actor: "guard@" + inst, Evidence: map[string]string{"error_rate": "0.021"},
		})
		if err != nil {
			panic(err)
		}
		fmt.Println(inst, "trips:", s, "by", s.Rollback.Instance)
	}
	s, err := c.Resume(ctx, "ann", "Redis failover finished")
	if err != nil {
		panic(err)
	}
	fmt.Println("resumed:", s)
	h, _ := c.History(ctx, 10)
	for _, e := range h {
		fmt.Println(e.Epoch, e.Kind, e.State.Actor)
	}
	// Output:
	// web-1 trips: shadow (epoch 4) rolled back by web-1
	// web-2 trips: shadow (epoch 4) rolled back by web-1
	// resumed: ramp 25% (epoch 5)
	// 5 resume ann
	// 4 rollback guard@web-1
	// 3 update ann
	// 2 update ann
	// 1 update ann
}
