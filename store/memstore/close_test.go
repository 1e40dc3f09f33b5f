package memstore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sessionmigrate/sessionmigrate/store"
)

func TestCloseStopsSweeper(t *testing.T) {
	s := New(WithSweepInterval(time.Millisecond))
	if goleak.Find() == nil {
		t.Fatal("no sweeper goroutine found while the store is open; the leak check below would prove nothing")
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
	goleak.VerifyNone(t)
}

func TestCloseIdempotent(t *testing.T) {
	s := New()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := s.Close(); err != nil {
				t.Errorf("concurrent Close() = %v, want nil", err)
			}
		})
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatalf("Close() after Close = %v, want nil", err)
	}
}

// storeOps calls each operation once; it is shared by the closed-store and
// canceled-context tests.
var storeOps = []struct {
	name   string
	prefix string
	call   func(ctx context.Context, s *Store) error
}{
	{"Get", "memstore: get: ", func(ctx context.Context, s *Store) error {
		_, _, err := s.Get(ctx, "id")
		return err
	}},
	{"Set", "memstore: set: ", func(ctx context.Context, s *Store) error {
		return s.Set(ctx, "id", store.Record{Data: []byte("x")})
	}},
	{"Delete", "memstore: delete: ", func(ctx context.Context, s *Store) error {
		return s.Delete(ctx, "id")
	}},
	{"DeleteVersion", "memstore: delete version: ", func(ctx context.Context, s *Store) error {
		return s.DeleteVersion(ctx, "id", 1, time.Time{})
	}},
	{"Scan", "memstore: scan: ", func(ctx context.Context, s *Store) error {
		return s.Scan(ctx, func(string, store.Record) error { return nil })
	}},
}

func TestOpsAfterClose(t *testing.T) {
	s := New()
	if err := s.Set(t.Context(), "id", store.Record{Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, op := range storeOps {
		t.Run(op.name, func(t *testing.T) {
			err := op.call(t.Context(), s)
			if !errors.Is(err, store.ErrClosed) {
				t.Fatalf("%s after Close = %v, want an error wrapping store.ErrClosed", op.name, err)
			}
			if !strings.HasPrefix(err.Error(), op.prefix) {
				t.Errorf("%s error = %q, want prefix %q", op.name, err, op.prefix)
			}
		})
	}
	if got := s.Len(); got != 0 {
		t.Errorf("Len() after Close = %d, want 0", got)
	}
	if got := s.Sweep(); got != 0 {
		t.Errorf("Sweep() after Close = %d, want 0", got)
	}
}

// TestCloseDuringUse: operations racing with Close either succeed or report
// ErrClosed, and nothing panics or races.
func TestCloseDuringUse(t *testing.T) {
	s := New(WithSweepInterval(time.Millisecond))
	ctx := t.Context()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range 4 {
		wg.Go(func() {
			<-start
			for i := range 500 {
				op := storeOps[(g+i)%len(storeOps)]
				if err := op.call(ctx, s); err != nil && !errors.Is(err, store.ErrClosed) {
					t.Errorf("%s during Close = %v, want nil or ErrClosed", op.name, err)
					return
				}
			}
		})
	}
	close(start)
	if err := s.Close(); err != nil {
		t.Errorf("Close() = %v, want nil", err)
	}
	wg.Wait()
}
