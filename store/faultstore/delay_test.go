package faultstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
)

// sleepRecorder is an injected sleep that records each delay and returns at
// once with err.
type sleepRecorder struct {
	mu  sync.Mutex
	ds  []time.Duration
	err error
}

func (r *sleepRecorder) sleep(_ context.Context, d time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ds = append(r.ds, d)
	return r.err
}

func (r *sleepRecorder) delays() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.ds...)
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestLatencyFixed(t *testing.T) {
	for _, tc := range opCases() {
		t.Run(tc.op.String(), func(t *testing.T) {
			rec := &sleepRecorder{}
			f, s := newFixture(faultstore.WithSleep(rec.sleep))
			if err := s.SetFault(faultstore.Fault{Latency: 25 * time.Millisecond}, tc.op); err != nil {
				t.Fatal(err)
			}
			if err := tc.call(t.Context(), s); err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			if got := rec.delays(); len(got) != 1 || got[0] != 25*time.Millisecond {
				t.Errorf("delays: got %v, want [25ms]", got)
			}
			if got := f.calledTimes(tc.op.String()); got != 1 {
				t.Errorf("inner calls: got %d, want 1", got)
			}
			if got := s.Stats(tc.op).Delayed; got != 1 {
				t.Errorf("delayed: got %d, want 1", got)
			}
		})
	}
}

func TestLatencyJitter(t *testing.T) {
	delays := func(seed uint64) []time.Duration {
		rec := &sleepRecorder{}
		_, s := newFixture(faultstore.WithSleep(rec.sleep), faultstore.WithSeed(seed))
		f := faultstore.Fault{Latency: 10 * time.Millisecond, Jitter: 5 * time.Millisecond}
		if err := s.SetFault(f, faultstore.OpGet); err != nil {
			t.Fatal(err)
		}
		for range 50 {
			if _, _, err := s.Get(t.Context(), id); err != nil {
				t.Fatal(err)
			}
		}
		return rec.delays()
	}
	got := delays(3)
	distinct := map[time.Duration]bool{}
	for _, d := range got {
		if d < 10*time.Millisecond || d >= 15*time.Millisecond {
			t.Errorf("delay: got %v, want in [10ms, 15ms)", d)
		}
		distinct[d] = true
	}
	if len(distinct) < 10 {
		t.Errorf("distinct delays: got %d of %d, want jitter to vary them", len(distinct), len(got))
	}
	again := delays(3)
	for i := range got {
		if got[i] != again[i] {
			t.Fatalf("delay %d with the same seed: got %v then %v, want equal", i, got[i], again[i])
		}
	}
}

func TestLatencyNoSleepWithoutDelay(t *testing.T) {
	rec := &sleepRecorder{}
	_, s := newFixture(faultstore.WithSleep(rec.sleep))
	if err := s.SetFault(faultstore.Fault{ErrorRate: 0.5}); err != nil {
		t.Fatal(err)
	}
	_, _, _ = s.Get(t.Context(), id)
	if got := rec.delays(); len(got) != 0 {
		t.Errorf("delays: got %v, want none", got)
	}
}

func TestLatencySleepErrorAbortsCall(t *testing.T) {
	rec := &sleepRecorder{err: context.DeadlineExceeded}
	f, s := newFixture(faultstore.WithSleep(rec.sleep))
	if err := s.SetFault(faultstore.Fault{Latency: time.Second}, faultstore.OpSet); err != nil {
		t.Fatal(err)
	}
	err := s.Set(t.Context(), id, store.Record{Data: []byte("x")})
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, faultstore.ErrInjected) {
		t.Errorf("got %v, want context.DeadlineExceeded and not ErrInjected", err)
	}
	if got := f.calledTimes("set"); got != 0 {
		t.Errorf("inner sets: got %d, want 0", got)
	}
}

func TestLatencyDefaultSleep(t *testing.T) {
	t.Run("waits", func(t *testing.T) {
		_, s := newFixture()
		if err := s.SetFault(faultstore.Fault{Latency: 20 * time.Millisecond}, faultstore.OpGet); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, _, err := s.Get(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got < 20*time.Millisecond {
			t.Errorf("elapsed: got %v, want >= 20ms", got)
		}
	})
	t.Run("honours ctx", func(t *testing.T) {
		f, s := newFixture()
		if err := s.SetFault(faultstore.Fault{Latency: time.Hour}, faultstore.OpGet); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
		defer cancel()
		if _, _, err := s.Get(ctx, id); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want context.DeadlineExceeded", err)
		}
		if got := f.calledTimes("get"); got != 0 {
			t.Errorf("inner gets: got %d, want 0", got)
		}
	})
}

func TestHangUntilCtxDone(t *testing.T) {
	for _, tc := range opCases() {
		t.Run(tc.op.String(), func(t *testing.T) {
			f, s := newFixture()
			if err := s.SetFault(faultstore.Fault{Hang: true}, tc.op); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
			defer cancel()
			if err := tc.call(ctx, s); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("got %v, want context.DeadlineExceeded", err)
			}
			if got := f.calledTimes(tc.op.String()); got != 0 {
				t.Errorf("inner calls: got %d, want 0", got)
			}
			if got := s.Stats(tc.op).Hung; got != 1 {
				t.Errorf("hung: got %d, want 1", got)
			}
		})
	}
}

func TestHangLifted(t *testing.T) {
	tests := []struct {
		name string
		lift func(s *faultstore.Store) error
	}{
		{"SetFault", func(s *faultstore.Store) error { return s.SetFault(faultstore.Fault{}, faultstore.OpSet) }},
		{"Reset", func(s *faultstore.Store) error { s.Reset(); return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, s := newFixture()
			if err := s.SetFault(faultstore.Fault{Hang: true}, faultstore.OpSet); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- s.Set(context.Background(), id, store.Record{Data: []byte("late"), Version: 2}) }()
			waitFor(t, "the Set to hang", func() bool { return s.Stats(faultstore.OpSet).Hung == 1 })
			if got := f.calledTimes("set"); got != 0 {
				t.Fatalf("inner sets while hung: got %d, want 0", got)
			}
			if err := tt.lift(s); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatalf("got %v, want nil after the hang lifted", err)
			}
			if rec, _, _ := f.Get(t.Context(), id); string(rec.Data) != "late" {
				t.Errorf("data: got %q, want %q", rec.Data, "late")
			}
		})
	}
}

func TestHangLiftedIntoNewFault(t *testing.T) {
	f, s := newFixture()
	if err := s.SetFault(faultstore.Fault{Hang: true}, faultstore.OpSet); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Set(context.Background(), id, store.Record{Data: []byte("late")}) }()
	waitFor(t, "the Set to hang", func() bool { return s.Stats(faultstore.OpSet).Hung == 1 })
	if err := s.SetFault(faultstore.Fault{Outage: true}, faultstore.OpSet); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, faultstore.ErrInjected) {
		t.Errorf("got %v, want ErrInjected from the configuration in effect on release", err)
	}
	if got := f.calledTimes("set"); got != 0 {
		t.Errorf("inner sets: got %d, want 0", got)
	}
}
