package pace

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestLimiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(100)
		start := time.Now()
		if err := l.Wait(context.Background(), 50); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != 500*time.Millisecond {
			t.Errorf("50 items at 100/s: waited %v, want 500ms", got)
		}
		if err := l.Wait(context.Background(), 10); err != nil || time.Since(start) != 500*time.Millisecond {
			t.Errorf("items already within the rate: waited, %v", err)
		}
		ctx, cancel := context.WithCancelCause(context.Background())
		stop := errors.New("stop")
		time.AfterFunc(100*time.Millisecond, func() { cancel(stop) })
		if err := l.Wait(ctx, 1000); !errors.Is(err, stop) {
			t.Errorf("Wait past a cancel: got %v, want the cause", err)
		}
		if err := New(0).Wait(context.Background(), 1<<40); err != nil {
			t.Errorf("no rate: %v", err)
		}
	})
}
