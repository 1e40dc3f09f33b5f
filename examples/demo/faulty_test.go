package demo

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
)

// batchRecorder is a store.BatchSetter that writes into a memstore and
// counts its calls.
type batchRecorder struct {
	*memstore.Store
	calls int
}

func (b *batchRecorder) SetMany(ctx context.Context, entries []store.Entry) ([]bool, error) {
	b.calls++
	applied := make([]bool, len(entries))
	for i, e := range entries {
		applied[i] = b.Set(ctx, e.ID, e.Record) == nil
	}
	return applied, nil
}

func TestFaultySetMany(t *testing.T) {
	entries := []store.Entry{
		{ID: "a", Record: store.Record{Data: []byte("1"), ExpiresAt: time.Now().Add(time.Hour), Version: 1}},
		{ID: "b", Record: store.Record{Data: []byte("2"), ExpiresAt: time.Now().Add(time.Hour), Version: 1}},
	}
	tests := []struct {
		name        string
		fault       faultstore.Fault
		wantBatches int
		wantApplied bool
		wantErr     bool
	}{
		{"healthy: one batch", faultstore.Fault{}, 1, true, false},
		{"outage: every entry fails like a Set", faultstore.Fault{Outage: true}, 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memstore.New()
			defer mem.Close()
			rec := &batchRecorder{Store: mem}
			fs := faultstore.New(mem)
			if err := fs.SetFault(tt.fault); err != nil {
				t.Fatal(err)
			}
			applied, err := faulty{Store: fs, batch: rec}.SetMany(t.Context(), entries)
			if got := err != nil; got != tt.wantErr {
				t.Errorf("error: got %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr && !errors.Is(err, faultstore.ErrInjected) {
				t.Errorf("error: got %v, want it to wrap faultstore.ErrInjected", err)
			}
			if rec.calls != tt.wantBatches {
				t.Errorf("batch calls: got %d, want %d", rec.calls, tt.wantBatches)
			}
			for i, a := range applied {
				if a != tt.wantApplied {
					t.Errorf("applied[%d]: got %v, want %v", i, a, tt.wantApplied)
				}
				_, found, _ := mem.Get(t.Context(), entries[i].ID)
				if found != tt.wantApplied {
					t.Errorf("entry %d stored: got %v, want %v", i, found, tt.wantApplied)
				}
			}
		})
	}
}
