package memstore

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sessionmigrate/sessionmigrate/internal/clocktest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newFakeClock starts at an instant with a sub-millisecond part, so tests
// exercise truncation.
func newFakeClock() *clocktest.Clock {
	return clocktest.New(time.Date(2030, 1, 2, 3, 4, 5, 678_901_234, time.UTC))
}

// newTestStore returns a store closed when the test ends.
func newTestStore(t testing.TB, opts ...Option) *Store {
	t.Helper()
	s := New(opts...)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close() = %v, want nil", err)
		}
	})
	return s
}

// rawLen counts stored entries of every kind, expired ones included.
func (s *Store) rawLen() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}
