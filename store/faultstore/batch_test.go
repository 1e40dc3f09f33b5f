package faultstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
)

// batcher is a memstore that counts SetMany calls.
type batcher struct {
	*memstore.Store
	calls int
}

func (b *batcher) SetMany(ctx context.Context, entries []store.Entry) ([]bool, error) {
	b.calls++
	applied := make([]bool, len(entries))
	for i, e := range entries {
		applied[i] = b.Set(ctx, e.ID, e.Record) == nil
	}
	return applied, nil
}

func TestSetMany(t *testing.T) {
	ctx := context.Background()
	entries := []store.Entry{
		{ID: "a", Record: store.Record{Data: []byte("a"), ExpiresAt: time.Now().Add(time.Hour), Version: 1}},
		{ID: "b", Record: store.Record{Data: []byte("b"), ExpiresAt: time.Now().Add(time.Hour), Version: 1}},
	}
	tests := []struct {
		name         string
		fault        func(*faultstore.Store)
		wantBatches  int
		wantApplied  []bool
		wantInjected bool
	}{
		{"healthy: forwarded as one batch", func(*faultstore.Store) {}, 1, []bool{true, true}, false},
		{"outage: each entry fails", func(s *faultstore.Store) { s.SetFault(faultstore.Fault{Outage: true}, faultstore.OpSet) }, 0, []bool{false, false}, true},
		{"fail next: only the first fails", func(s *faultstore.Store) { s.FailNext(1, faultstore.OpSet) }, 0, []bool{false, true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inner := &batcher{Store: memstore.New()}
			defer inner.Close()
			s := faultstore.New(inner)
			tt.fault(s)
			applied, err := s.SetMany(ctx, entries)
			if got := errors.Is(err, faultstore.ErrInjected); got != tt.wantInjected {
				t.Fatalf("SetMany error %v: injected %v, want %v", err, got, tt.wantInjected)
			}
			if inner.calls != tt.wantBatches {
				t.Errorf("inner SetMany calls: got %d, want %d", inner.calls, tt.wantBatches)
			}
			for i, want := range tt.wantApplied {
				if applied[i] != want {
					t.Errorf("applied[%d]: got %v, want %v", i, applied[i], want)
				}
			}
			if got := s.Stats(faultstore.OpSet).Calls; got != 2 {
				t.Errorf("OpSet calls: got %d, want 2 (one per entry)", got)
			}
		})
	}
}
