package memstore

import (
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/storetest"
)

func TestConformance(t *testing.T) {
	fake := func(opts ...Option) func(t *testing.T) {
		return func(t *testing.T) {
			clock := newFakeClock()
			storetest.Run(t, func(t *testing.T) store.Store {
				return newTestStore(t, append([]Option{WithClock(clock.Now), WithMaxTTL(time.Hour)}, opts...)...)
			}, storetest.Config{MaxTTL: time.Hour, Now: clock.Now, Advance: clock.Advance})
		}
	}
	t.Run("fake clock", fake())
	t.Run("fake clock, one shard", fake(WithShards(1)))
	t.Run("fake clock, sweeping every millisecond", fake(WithSweepInterval(time.Millisecond)))
	t.Run("fake clock, bounded but never full", fake(WithMaxEntries(1<<16)))
	t.Run("real time", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			return newTestStore(t)
		}, storetest.Config{MaxTTL: DefaultMaxTTL})
	})
}
