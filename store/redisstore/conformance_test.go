package redisstore

import (
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/storetest"
)

// TestConformance runs the store contract suite against a real standalone
// server and a real three-master cluster. Redis expires keys by its own
// clock, so the suite runs in real time (no fake clock).
func TestConformance(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		storetest.Run(t, func(t *testing.T) store.Store {
			s, _ := newTestStore(t, tp, Options{MaxTTL: time.Hour})
			return s
		}, storetest.Config{MaxTTL: time.Hour})
	})
}
