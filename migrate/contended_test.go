package migrate

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
)

// refusingStore is a distributed store whose request-path writes all fail
// with err.
type refusingStore struct {
	*memstore.Store
	err error
}

func (s refusingStore) SetLatest(context.Context, string, store.Record) (uint64, error) {
	return 0, s.err
}

// TestContentionIsNotAnOutage: a request-path write refused because other
// writers kept storing newer versions (store.ErrContended) fails that
// write, but the store answered: the guard does not count it toward a
// trip. The same number of plain store errors trips it inline.
func TestContentionIsNotAnOutage(t *testing.T) {
	for _, tt := range []struct {
		err      error
		wantTrip bool
	}{
		{fmt.Errorf("redisstore: set latest: %w", store.ErrContended), false},
		{errors.New("redisstore: set latest: ERR something broke"), true},
	} {
		t.Run(fmt.Sprint(tt.err), func(t *testing.T) {
			local, dist := memstore.New(), memstore.New()
			t.Cleanup(func() { local.Close(); dist.Close() })
			m, err := New(local, refusingStore{dist, tt.err}, Options{Stage: Dual})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { m.Close() })
			for i := range 3 * 8 { // three times the default consecutive-failure trip
				rec := store.Record{Data: []byte("x"), ExpiresAt: time.Now().Add(time.Hour)}
				if err := m.Set(t.Context(), fmt.Sprint("s", i), rec); err != nil {
					t.Fatalf("Set at dual: %v (local holds it: want nil)", err)
				}
			}
			if got := m.State().Tripped; got != tt.wantTrip {
				t.Fatalf("after 24 refused writes: tripped %v, want %v (state %+v)", got, tt.wantTrip, m.State())
			}
		})
	}
}
