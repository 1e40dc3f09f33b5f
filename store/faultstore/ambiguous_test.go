package faultstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
)

func TestAmbiguousErrorWrapsInjected(t *testing.T) {
	if !errors.Is(faultstore.ErrInjectedAmbiguous, faultstore.ErrInjected) {
		t.Error("errors.Is(ErrInjectedAmbiguous, ErrInjected): got false, want true")
	}
}

func TestAmbiguousWritesAreApplied(t *testing.T) {
	tests := []struct {
		op        faultstore.Op
		call      func(s *faultstore.Store) error
		wantStore bool // whether id is stored afterwards
	}{
		{faultstore.OpSet, func(s *faultstore.Store) error {
			return s.Set(t.Context(), id, store.Record{Data: []byte("new"), Version: 2})
		}, true},
		{faultstore.OpDelete, func(s *faultstore.Store) error {
			return s.Delete(t.Context(), id)
		}, false},
		{faultstore.OpDeleteVersion, func(s *faultstore.Store) error {
			return s.DeleteVersion(t.Context(), id, 2, time.Now().Add(time.Hour))
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.op.String(), func(t *testing.T) {
			f, s := newFixture()
			if err := s.SetFault(faultstore.Fault{Outage: true, Ambiguous: true}, tt.op); err != nil {
				t.Fatal(err)
			}
			err := tt.call(s)
			if !errors.Is(err, faultstore.ErrInjectedAmbiguous) || !errors.Is(err, faultstore.ErrInjected) {
				t.Fatalf("got %v, want ErrInjectedAmbiguous and ErrInjected", err)
			}
			if got := f.has(id); got != tt.wantStore {
				t.Errorf("stored after ambiguous %s: got %v, want %v", tt.op, got, tt.wantStore)
			}
			if tt.op == faultstore.OpSet {
				rec, _, _ := f.Get(t.Context(), id)
				if string(rec.Data) != "new" {
					t.Errorf("data: got %q, want %q", rec.Data, "new")
				}
			}
			if got, want := s.Stats(tt.op), (faultstore.Stats{Calls: 1, Errors: 1, Ambiguous: 1}); got != want {
				t.Errorf("stats: got %+v, want %+v", got, want)
			}
		})
	}
}

func TestAmbiguousGetHidesResult(t *testing.T) {
	f, s := newFixture()
	if err := s.SetFault(faultstore.Fault{Outage: true, Ambiguous: true}, faultstore.OpGet); err != nil {
		t.Fatal(err)
	}
	rec, found, err := s.Get(t.Context(), id)
	if !errors.Is(err, faultstore.ErrInjectedAmbiguous) || found || rec.Data != nil {
		t.Errorf("got (%q, %v, %v), want (nil, false, ErrInjectedAmbiguous)", rec.Data, found, err)
	}
	if got := f.calledTimes("get"); got != 1 {
		t.Errorf("inner gets: got %d, want 1", got)
	}
}

func TestAmbiguousScanVisitsThenFails(t *testing.T) {
	f, s := newFixture()
	f.put("s2", store.Record{Data: []byte("b")})
	if err := s.SetFault(faultstore.Fault{Ambiguous: true}, faultstore.OpScan); err != nil {
		t.Fatal(err)
	}
	if err := s.FailNext(1, faultstore.OpScan); err != nil {
		t.Fatal(err)
	}
	visited := 0
	err := s.Scan(t.Context(), func(string, store.Record) error { visited++; return nil })
	if !errors.Is(err, faultstore.ErrInjectedAmbiguous) {
		t.Errorf("got %v, want ErrInjectedAmbiguous", err)
	}
	if visited != 2 {
		t.Errorf("visited: got %d, want 2", visited)
	}
}

func TestScanCallbackErrorUnwrapped(t *testing.T) {
	_, s := newFixture()
	stop := errors.New("callback says stop")
	if err := s.Scan(t.Context(), func(string, store.Record) error { return stop }); err != stop {
		t.Errorf("got %v, want the callback's error unchanged", err)
	}
}

func TestAmbiguousInnerErrorWins(t *testing.T) {
	f, s := newFixture()
	innerErr := errors.New("inner broke")
	f.err = innerErr
	if err := s.SetFault(faultstore.Fault{Outage: true, Ambiguous: true}, faultstore.OpSet); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(t.Context(), id, store.Record{}); err != innerErr {
		t.Errorf("got %v, want the inner error", err)
	}
	if got := s.Stats(faultstore.OpSet).Errors; got != 0 {
		t.Errorf("injected errors: got %d, want 0", got)
	}
}

func TestDropWrites(t *testing.T) {
	tests := []struct {
		op   faultstore.Op
		call func(s *faultstore.Store) error
	}{
		{faultstore.OpSet, func(s *faultstore.Store) error {
			return s.Set(t.Context(), "fresh", store.Record{Data: []byte("x")})
		}},
		{faultstore.OpDelete, func(s *faultstore.Store) error { return s.Delete(t.Context(), id) }},
		{faultstore.OpDeleteVersion, func(s *faultstore.Store) error {
			return s.DeleteVersion(t.Context(), id, 5, time.Now().Add(time.Hour))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.op.String(), func(t *testing.T) {
			f, s := newFixture()
			if err := s.SetFault(faultstore.Fault{Drop: true}); err != nil {
				t.Fatal(err)
			}
			if err := tt.call(s); err != nil {
				t.Fatalf("got %v, want nil (a dropped write is acknowledged)", err)
			}
			if got := f.calledTimes(tt.op.String()); got != 0 {
				t.Errorf("inner calls: got %d, want 0", got)
			}
			if !f.has(id) || f.has("fresh") {
				t.Errorf("inner state changed by a dropped %s", tt.op)
			}
			if got, want := s.Stats(tt.op), (faultstore.Stats{Calls: 1, Dropped: 1}); got != want {
				t.Errorf("stats: got %+v, want %+v", got, want)
			}
		})
	}
}

func TestDropIgnoredForReads(t *testing.T) {
	f, s := newFixture()
	if err := s.SetFault(faultstore.Fault{Drop: true}); err != nil {
		t.Fatal(err)
	}
	if _, found, err := s.Get(t.Context(), id); !found || err != nil {
		t.Errorf("get: got (%v, %v), want (true, nil)", found, err)
	}
	visited := 0
	if err := s.Scan(t.Context(), func(string, store.Record) error { visited++; return nil }); err != nil || visited != 1 {
		t.Errorf("scan: got (%d visited, %v), want (1, nil)", visited, err)
	}
	if got := f.calledTimes("get") + f.calledTimes("scan"); got != 2 {
		t.Errorf("inner reads: got %d, want 2", got)
	}
}

func TestErrorBeatsDrop(t *testing.T) {
	f, s := newFixture()
	if err := s.SetFault(faultstore.Fault{Drop: true, Outage: true}, faultstore.OpSet); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(t.Context(), id, store.Record{}); !errors.Is(err, faultstore.ErrInjected) {
		t.Errorf("got %v, want ErrInjected", err)
	}
	if got := s.Stats(faultstore.OpSet).Dropped; got != 0 {
		t.Errorf("dropped: got %d, want 0", got)
	}
	if got := f.calledTimes("set"); got != 0 {
		t.Errorf("inner sets: got %d, want 0", got)
	}
}
