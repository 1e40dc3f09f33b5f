package faultstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
)

func TestOnCallObservesEveryCall(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []string
	)
	hook := func(_ context.Context, op faultstore.Op, id string) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, op.String()+":"+id)
	}
	_, s := newFixture(faultstore.WithOnCall(hook))
	// The hook runs before faults, so it sees injected failures too.
	if err := s.SetFault(faultstore.Fault{Outage: true}, faultstore.OpDelete); err != nil {
		t.Fatal(err)
	}
	for _, tc := range opCases() {
		_ = tc.call(t.Context(), s)
	}
	want := fmt.Sprint([]string{"get:s1", "set:s1", "delete:s1", "delete_version:s1", "scan:"})
	if got := fmt.Sprint(seen); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestOnCallPausesOperation(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	hook := func(ctx context.Context, op faultstore.Op, _ string) {
		if op != faultstore.OpSet {
			return
		}
		close(entered)
		select {
		case <-release:
		case <-ctx.Done():
		}
	}
	f, s := newFixture(faultstore.WithOnCall(hook))
	done := make(chan error, 1)
	go func() { done <- s.Set(context.Background(), id, store.Record{Data: []byte("paused")}) }()
	<-entered

	// While the Set is paused, reads go through and see the old record.
	rec, _, err := s.Get(t.Context(), id)
	if err != nil || string(rec.Data) != "old" {
		t.Fatalf("get while paused: got (%q, %v), want (\"old\", nil)", rec.Data, err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if rec, _, _ := f.Get(t.Context(), id); string(rec.Data) != "paused" {
		t.Errorf("after release: got %q, want %q", rec.Data, "paused")
	}
}

func TestConcurrentCallsAndReconfiguration(t *testing.T) {
	rec := &sleepRecorder{}
	_, s := newFixture(faultstore.WithSleep(rec.sleep), faultstore.WithSeed(1))
	const workers, perWorker = 8, 200
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // reconfigures while calls are in flight
		defer wg.Done()
		faults := []faultstore.Fault{
			{ErrorRate: 0.5, Jitter: time.Millisecond},
			{Outage: true, Ambiguous: true},
			{Drop: true},
			{Hang: true},
			{},
		}
		for i := 0; ; i++ {
			select {
			case <-stop:
				s.Reset()
				return
			default:
			}
			if err := s.SetFault(faults[i%len(faults)]); err != nil {
				t.Error(err)
				return
			}
			if err := s.FailNext(i % 3); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var calls sync.WaitGroup
	for w := range workers {
		calls.Add(1)
		go func() {
			defer calls.Done()
			for i := range perWorker {
				ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
				var err error
				switch i % 3 {
				case 0:
					_, _, err = s.Get(ctx, id)
				case 1:
					err = s.Set(ctx, fmt.Sprintf("w%d", w), store.Record{Data: []byte("x")})
				case 2:
					err = s.DeleteVersion(ctx, id, uint64(i), time.Time{})
				}
				cancel()
				if err != nil && !errors.Is(err, faultstore.ErrInjected) && !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("got %v, want nil, ErrInjected or DeadlineExceeded", err)
				}
			}
		}()
	}
	calls.Wait()
	close(stop)
	wg.Wait()
	if got, want := s.TotalStats().Calls, uint64(workers*perWorker); got != want {
		t.Errorf("calls: got %d, want %d", got, want)
	}
}

func TestTotalStats(t *testing.T) {
	_, s := newFixture()
	if err := s.SetFault(faultstore.Fault{Outage: true}, faultstore.OpGet); err != nil {
		t.Fatal(err)
	}
	for _, tc := range opCases() {
		_ = tc.call(t.Context(), s)
	}
	if got, want := s.TotalStats(), (faultstore.Stats{Calls: 5, Errors: 1}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := s.Stats(faultstore.Op(99)); got != (faultstore.Stats{}) {
		t.Errorf("unknown op: got %+v, want zero", got)
	}
}
