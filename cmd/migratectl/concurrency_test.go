package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// TestConcurrentRampOneWins interleaves two ramps deterministically: both
// read the state, then the second writes before the first does. The first
// must fail with nothing written, not overwrite the second.
func TestConcurrentRampOneWins(t *testing.T) {
	h := newHarness(t)
	start := h.setState(control.StageDual, 0)

	firstRead := make(chan struct{})
	secondDone := make(chan struct{})
	var first result
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		first = h.runWith("", func(a *app) {
			a.beforeWrite = func() {
				close(firstRead)
				<-secondDone
			}
		}, "ramp", "10", "--reason", "first")
	}()
	select {
	case <-firstRead:
	case <-time.After(10 * time.Second):
		t.Fatal("the first ramp never reached its write")
	}
	second := h.runWith("", nil, "ramp", "20", "--reason", "second")
	close(secondDone)
	wg.Wait()

	if second.code != exitOK {
		t.Fatalf("second: %v", second)
	}
	if first.code != exitError {
		t.Fatalf("first: got exit %d, want %d\n%v", first.code, exitError, first)
	}
	oneLine(t, first, "the state changed while this command ran", "nothing was written")
	s := h.state()
	if s.Epoch != start.Epoch+1 || s.Percent != 20 || s.Reason != "second" {
		t.Errorf("state: got %+v, want the second ramp at epoch %d", s, start.Epoch+1)
	}
}

// TestConcurrentRampsNoLostUpdate races several ramps: every one either
// writes (and is in the audit log with its own epoch) or fails with a
// conflict; the final state is the write with the highest epoch.
func TestConcurrentRampsNoLostUpdate(t *testing.T) {
	h := newHarness(t)
	start := h.setState(control.StageDual, 0)
	const n = 6
	results := make([]result, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			results[i] = h.runWith("", nil, "ramp", fmt.Sprint(10*(i+1)), "--reason", fmt.Sprint("r", i), "-o", "json")
		}()
	}
	close(gate)
	wg.Wait()

	var won []changeView
	for i, r := range results {
		switch r.code {
		case exitOK:
			var v changeView
			decodeJSON(t, r, &v)
			won = append(won, v)
		case exitError:
			if !strings.Contains(r.stderr, "the state changed while this command ran") {
				t.Errorf("ramp %d: unexpected failure %v", i, r)
			}
		default:
			t.Errorf("ramp %d: %v", i, r)
		}
	}
	if len(won) == 0 {
		t.Fatal("no ramp won")
	}
	s := h.state()
	if s.Epoch != start.Epoch+uint64(len(won)) {
		t.Errorf("epoch: got %d, want %d (%d writes)", s.Epoch, start.Epoch+uint64(len(won)), len(won))
	}
	seen := map[uint64]bool{}
	var last changeView
	for _, v := range won {
		if seen[v.To.Epoch] || v.From.Epoch+1 != v.To.Epoch {
			t.Errorf("write %+v shares an epoch or skipped one", v)
		}
		seen[v.To.Epoch] = true
		if v.To.Epoch > last.To.Epoch {
			last = v
		}
	}
	if s.Percent != last.To.Percent || s.Reason != last.To.Reason {
		t.Errorf("final state %v is not the newest write %+v", s, last.To)
	}
	hist, err := h.client().History(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != int(start.Epoch)+len(won) {
		t.Errorf("audit entries: got %d, want %d", len(hist), int(start.Epoch)+len(won))
	}
}
