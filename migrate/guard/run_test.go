package guard

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestStartTicksUntilClose(t *testing.T) {
	defer goleak.VerifyNone(t)
	tripped := make(chan Evidence, 1)
	g, err := New(Settings{
		Interval:  time.Millisecond,
		ErrorRate: CUSUM{H: 1},
		OnTrip:    func(ev Evidence) { tripped <- ev },
	})
	if err != nil {
		t.Fatal(err)
	}
	g.Start()
	g.Start() // no second goroutine
	// Two failures score 2·ln 2 > 1: only a Tick can trip on that.
	g.Record(Failure, time.Millisecond)
	g.Record(Failure, time.Millisecond)
	select {
	case ev := <-tripped:
		if ev.Reason != ReasonErrorRate {
			t.Errorf("reason got %s, want %s", ev.Reason, ReasonErrorRate)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no trip 10 s after Start; the ticker goroutine did not run")
	}
	if err := g.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := g.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	g.Start() // after Close: nothing
}

func TestCloseWithoutStart(t *testing.T) {
	defer goleak.VerifyNone(t)
	g, err := New(Settings{})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	g.Start()
	g.Record(Success, time.Millisecond) // still usable
}
