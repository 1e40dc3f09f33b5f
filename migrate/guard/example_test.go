package guard_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sessionmigrate/sessionmigrate/migrate/guard"
)

// A hard outage trips the guard inside Record, on the eighth failure in a
// row, before any Tick.
func Example() {
	g, err := guard.New(guard.Settings{
		OnTrip: func(ev guard.Evidence) {
			fmt.Printf("rollback: %s (%v failures)\n", ev.Reason, ev.Score)
		},
	})
	if err != nil {
		panic(err)
	}
	defer g.Close()
	g.Start()

	ctx := context.Background()
	down := errors.New("ERR cluster is down")
	for range 10 {
		start := time.Now()
		err := down // the distributed store's answer
		g.Record(guard.Classify(ctx, err), time.Since(start))
	}
	fmt.Println(g.State())
	// Output:
	// rollback: consecutive_failures (8 failures)
	// tripped
}

// Tick with a fake clock evaluates a window; the error-rate CUSUM trips on
// a 5% error rate at 1,000 operations per second.
func ExampleGuard_Tick() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g, err := guard.New(guard.Settings{Now: func() time.Time { return now }})
	if err != nil {
		panic(err)
	}
	for window := 1; !g.Tripped(); window++ {
		for i := range 100 {
			o := guard.Success
			if i%20 == 0 {
				o = guard.Failure
			}
			g.Record(o, 3*time.Millisecond)
		}
		now = now.Add(100 * time.Millisecond)
		g.Tick(now)
		fmt.Printf("%v: error-rate score %.2f, %s\n", time.Duration(window)*100*time.Millisecond, g.Scores().ErrorRate, g.State())
	}
	ev, _ := g.LastTrip()
	fmt.Printf("%s over %d operations, %.0f%% failed\n", ev.Reason, ev.Run.Ops, 100*ev.Run.ErrorRate())
	// Output:
	// 100ms: error-rate score 2.99, paused
	// 200ms: error-rate score 5.97, tripped
	// error_rate over 200 operations, 5% failed
}
