package clocktest_test

import (
	"sync"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/internal/clocktest"
)

var start = time.Date(2030, 1, 2, 3, 4, 5, 678_901_234, time.UTC)

func TestClock(t *testing.T) {
	tests := []struct {
		name string
		move func(c *clocktest.Clock)
		want time.Time
	}{
		{"new", func(*clocktest.Clock) {}, start},
		{"advance", func(c *clocktest.Clock) { c.Advance(time.Minute) }, start.Add(time.Minute)},
		{"advance twice", func(c *clocktest.Clock) { c.Advance(time.Second); c.Advance(2 * time.Second) }, start.Add(3 * time.Second)},
		{"advance backward", func(c *clocktest.Clock) { c.Advance(-time.Hour) }, start.Add(-time.Hour)},
		{"set", func(c *clocktest.Clock) { c.Set(start.Add(-24 * time.Hour)) }, start.Add(-24 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clocktest.New(start)
			tt.move(c)
			if got := c.Now(); !got.Equal(tt.want) {
				t.Errorf("Now() = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestConcurrent is meant for -race: Advance and Now from many goroutines.
func TestConcurrent(t *testing.T) {
	c := clocktest.New(start)
	const n = 8
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Advance(time.Second)
			_ = c.Now()
		}()
	}
	wg.Wait()
	if got, want := c.Now(), start.Add(n*time.Second); !got.Equal(want) {
		t.Errorf("Now() = %v, want %v", got, want)
	}
}
