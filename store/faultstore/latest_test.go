package faultstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
)

// TestLatestWriter: SetLatest and DeleteLatest pass through with the
// inner store's version, take the faults of OpSet and OpDeleteVersion, and
// say so when the inner store lacks them.
func TestLatestWriter(t *testing.T) {
	ctx := t.Context()
	inner := memstore.New()
	defer inner.Close()
	s := faultstore.New(inner)
	exp := time.Now().Add(time.Hour)
	if err := inner.Set(ctx, id, store.Record{Data: []byte("old"), ExpiresAt: exp, Version: 10}); err != nil {
		t.Fatal(err)
	}
	v, err := s.SetLatest(ctx, id, store.Record{Data: []byte("new"), ExpiresAt: exp, Version: 3})
	if err != nil || v != 11 {
		t.Fatalf("SetLatest over version 10: got %d, %v; want 11, nil", v, err)
	}
	if err := s.SetFault(faultstore.Fault{Outage: true}, faultstore.OpSet); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetLatest(ctx, id, store.Record{Data: []byte("lost"), ExpiresAt: exp, Version: 3}); !errors.Is(err, faultstore.ErrInjected) {
		t.Fatalf("SetLatest in an OpSet outage: error %v, want ErrInjected", err)
	}
	if rec, _, _ := inner.Get(ctx, id); string(rec.Data) != "new" {
		t.Fatalf("inner after a failed SetLatest: %q, want %q", rec.Data, "new")
	}
	if err := s.SetFault(faultstore.Fault{Outage: true}, faultstore.OpDeleteVersion); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteLatest(ctx, id, 1, time.Time{}, exp); !errors.Is(err, faultstore.ErrInjected) {
		t.Fatalf("DeleteLatest in an OpDeleteVersion outage: error %v, want ErrInjected", err)
	}
	s.Reset()
	if v, err := s.DeleteLatest(ctx, id, 1, time.Time{}, exp); err != nil || v != 12 {
		t.Fatalf("DeleteLatest over version 11: got %d, %v; want 12, nil", v, err)
	}
	if got := s.Stats(faultstore.OpSet).Calls; got != 2 {
		t.Errorf("OpSet calls: got %d, want 2", got)
	}

	plain := faultstore.New(newFake())
	if _, err := plain.SetLatest(ctx, id, store.Record{Version: 1}); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("SetLatest on a store without it: error %v, want errors.ErrUnsupported", err)
	}
	if _, err := plain.DeleteLatest(ctx, id, 1, time.Time{}, time.Time{}); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("DeleteLatest on a store without it: error %v, want errors.ErrUnsupported", err)
	}
}
