package storetest_test

import (
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
	"github.com/sessionmigrate/sessionmigrate/store/storetest"
)

// A store package runs the suite from one test function. A store with an
// injectable clock runs it twice: with a fake clock, which checks every
// instant exactly and jumps over MaxTTL, and in real time, as Redis must.
func ExampleRun() {
	testConformance := func(t *testing.T) { // func TestConformance(t *testing.T) in a _test.go file
		t.Run("fake clock", func(t *testing.T) {
			clock := newFakeClock()
			storetest.Run(t, func(t *testing.T) store.Store {
				s := memstore.New(memstore.WithClock(clock.Now), memstore.WithMaxTTL(time.Hour))
				t.Cleanup(func() { _ = s.Close() })
				return s
			}, storetest.Config{MaxTTL: time.Hour, Now: clock.Now, Advance: clock.Advance})
		})
		t.Run("real time", func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store {
				s := memstore.New()
				t.Cleanup(func() { _ = s.Close() })
				return s
			}, storetest.Config{MaxTTL: memstore.DefaultMaxTTL})
		})
	}
	_ = testConformance
}
