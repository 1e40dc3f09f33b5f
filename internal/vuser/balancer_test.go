package vuser

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
)

// acquire takes and releases one request of user, returning its instance
// (-1 when none is up).
func acquire(p *Pool, user int) int {
	inst, ok := p.Acquire(user)
	if !ok {
		return -1
	}
	p.Release(inst)
	return inst
}

func TestStickyPins(t *testing.T) {
	ctx := context.Background()
	p, _ := NewPool(3, Sticky)
	for u := range 6 {
		for range 3 {
			if got := acquire(p, u); got != u%3 {
				t.Fatalf("user %d: got instance %d, want %d", u, got, u%3)
			}
		}
	}
	_ = p.Down(ctx, 1)
	// Users 1 and 4 lose their instance and move, spread over 0 and 2.
	moved := map[int]int{}
	for _, u := range []int{1, 4} {
		moved[u] = acquire(p, u)
		if moved[u] == 1 || moved[u] < 0 {
			t.Fatalf("user %d: got instance %d with 1 down, want another", u, moved[u])
		}
	}
	if moved[1] == moved[4] {
		t.Errorf("users 1 and 4 both moved to instance %d, want them spread", moved[1])
	}
	for _, u := range []int{0, 2, 3, 5} {
		if got := acquire(p, u); got != u%3 {
			t.Errorf("user %d: got instance %d, want to stay on %d", u, got, u%3)
		}
	}
	// Back up: the moved users stay where they are now pinned.
	_ = p.Up(1)
	for u, inst := range moved {
		if got := acquire(p, u); got != inst {
			t.Errorf("user %d after Up: got instance %d, want to stay on %d", u, got, inst)
		}
	}
	for i := range 3 {
		_ = p.Down(ctx, i)
	}
	if got := acquire(p, 0); got != -1 {
		t.Errorf("every instance down: got instance %d, want none", got)
	}
}

func TestRoundRobin(t *testing.T) {
	p, _ := NewPool(3, RoundRobin)
	var got []int
	for range 6 {
		got = append(got, acquire(p, 0)) // one user reaches every instance
	}
	if want := []int{0, 1, 2, 0, 1, 2}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	_ = p.Down(context.Background(), 1)
	got = got[:0]
	for range 4 {
		got = append(got, acquire(p, 5))
	}
	if want := []int{0, 2, 0, 2}; !slices.Equal(got, want) {
		t.Fatalf("with 1 down: got %v, want %v", got, want)
	}
	if served := p.Served(); !slices.Equal(served, []uint64{4, 2, 4}) {
		t.Errorf("Served: got %v, want [4 2 4]", served)
	}
}

// TestDownDrains: Down returns only once the requests already sent to the
// instance have ended, and gives up when its context ends.
func TestDownDrains(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, _ := NewPool(2, Sticky)
		inst, _ := p.Acquire(0)
		second, _ := p.Acquire(2) // also instance 0
		done := make(chan error, 1)
		go func() { done <- p.Down(context.Background(), inst) }()
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("Down returned %v with two requests in flight, want it to wait", err)
		default:
		}
		if got := acquire(p, 0); got != 1 {
			t.Errorf("while draining: got instance %d, want 1", got)
		}
		p.Release(inst)
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("Down returned %v with one request in flight, want it to wait", err)
		default:
		}
		p.Release(second)
		synctest.Wait()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Down: %v", err)
			}
		default:
			t.Fatal("Down still waiting with nothing in flight")
		}

		_ = p.Up(inst)
		if stuck, _ := p.Acquire(4); stuck != 0 { // user 4 starts on instance 0
			t.Fatalf("user 4: got instance %d, want 0", stuck)
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() { done <- p.Down(ctx, 0) }()
		synctest.Wait()
		cancel()
		synctest.Wait()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Down with a request stuck and ctx canceled: got %v, want context.Canceled", err)
		}
		p.Release(0)
	})
}

func TestPoolArguments(t *testing.T) {
	if _, err := NewPool(0, Sticky); err == nil {
		t.Error("NewPool(0): got nil error")
	}
	if _, err := NewPool(2, Policy(9)); err == nil {
		t.Error("NewPool(policy 9): got nil error")
	}
	p, _ := NewPool(2, Sticky)
	for _, inst := range []int{-1, 2} {
		if err := p.Down(context.Background(), inst); err == nil {
			t.Errorf("Down(%d): got nil error", inst)
		}
		if err := p.Up(inst); err == nil {
			t.Errorf("Up(%d): got nil error", inst)
		}
	}
}

// TestPoolSetPolicy: a pool switched to round robin spreads one user's
// requests over every instance; switched back, the user is pinned again.
func TestPoolSetPolicy(t *testing.T) {
	p, err := NewPool(3, Sticky)
	if err != nil {
		t.Fatal(err)
	}
	serve := func() map[int]bool {
		seen := map[int]bool{}
		for range 6 {
			inst, ok := p.Acquire(0)
			if !ok {
				t.Fatal("Acquire: no instance up")
			}
			seen[inst] = true
			p.Release(inst)
		}
		return seen
	}
	if got := serve(); len(got) != 1 {
		t.Fatalf("sticky: user 0 served by %v, want one instance", got)
	}
	if err := p.SetPolicy(RoundRobin); err != nil {
		t.Fatal(err)
	}
	if got := serve(); len(got) != 3 {
		t.Fatalf("round robin: user 0 served by %v, want all 3 instances", got)
	}
	if err := p.SetPolicy(Sticky); err != nil {
		t.Fatal(err)
	}
	if got := serve(); len(got) != 1 {
		t.Fatalf("sticky again: user 0 served by %v, want one instance", got)
	}
	if err := p.SetPolicy(Policy(9)); err == nil {
		t.Fatal("SetPolicy(9): got nil error, want an error")
	}
}
