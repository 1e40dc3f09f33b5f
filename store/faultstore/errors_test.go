package faultstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
)

const id = "s1"

// opCase is one operation kind exercised through the wrapper against a fake
// that holds a record under id.
type opCase struct {
	op   faultstore.Op
	call func(ctx context.Context, s *faultstore.Store) error
}

func opCases() []opCase {
	return []opCase{
		{faultstore.OpGet, func(ctx context.Context, s *faultstore.Store) error {
			_, _, err := s.Get(ctx, id)
			return err
		}},
		{faultstore.OpSet, func(ctx context.Context, s *faultstore.Store) error {
			return s.Set(ctx, id, store.Record{Data: []byte("new"), Version: 9})
		}},
		{faultstore.OpDelete, func(ctx context.Context, s *faultstore.Store) error {
			return s.Delete(ctx, id)
		}},
		{faultstore.OpDeleteVersion, func(ctx context.Context, s *faultstore.Store) error {
			return s.DeleteVersion(ctx, id, 9, time.Now().Add(time.Hour))
		}},
		{faultstore.OpScan, func(ctx context.Context, s *faultstore.Store) error {
			return s.Scan(ctx, func(string, store.Record) error { return nil })
		}},
	}
}

// newFixture returns a fake holding version 1 of id and a wrapper over it.
func newFixture(opts ...faultstore.Option) (*fakeStore, *faultstore.Store) {
	f := newFake()
	f.put(id, store.Record{Data: []byte("old"), Version: 1})
	return f, faultstore.New(f, opts...)
}

func TestPassThrough(t *testing.T) {
	for _, tc := range opCases() {
		t.Run(tc.op.String(), func(t *testing.T) {
			f, s := newFixture()
			if err := tc.call(t.Context(), s); err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if got := f.calledTimes(tc.op.String()); got != 1 {
				t.Errorf("inner calls: got %d, want 1", got)
			}
			if got, want := s.Stats(tc.op), (faultstore.Stats{Calls: 1}); got != want {
				t.Errorf("stats: got %+v, want %+v", got, want)
			}
		})
	}
}

func TestGetReturnsInnerRecord(t *testing.T) {
	_, s := newFixture()
	rec, found, err := s.Get(t.Context(), id)
	if err != nil || !found || string(rec.Data) != "old" || rec.Version != 1 {
		t.Fatalf("got (%q, v%d, %v, %v), want (\"old\", v1, true, nil)", rec.Data, rec.Version, found, err)
	}
}

func TestInnerErrorsUnchanged(t *testing.T) {
	for _, tc := range opCases() {
		t.Run(tc.op.String(), func(t *testing.T) {
			f, s := newFixture()
			innerErr := errors.New("inner broke")
			f.err = innerErr
			if err := tc.call(t.Context(), s); err != innerErr {
				t.Errorf("got %v, want the inner error unchanged", err)
			}
		})
	}
}

func TestUnsupportedCapabilities(t *testing.T) {
	f := newFake()
	s := faultstore.New(plainStore{f})
	ctx := t.Context()
	cases := []struct {
		op   faultstore.Op
		call func() error
	}{
		{faultstore.OpDeleteVersion, func() error { return s.DeleteVersion(ctx, id, 1, time.Time{}) }},
		{faultstore.OpScan, func() error {
			return s.Scan(ctx, func(string, store.Record) error { return nil })
		}},
	}
	for _, tc := range cases {
		t.Run(tc.op.String(), func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, errors.ErrUnsupported) {
				t.Errorf("got %v, want errors.ErrUnsupported", err)
			}
			if got := s.Stats(tc.op).Calls; got != 0 {
				t.Errorf("calls: got %d, want 0", got)
			}
		})
	}
}

func TestOutage(t *testing.T) {
	for _, tc := range opCases() {
		t.Run(tc.op.String(), func(t *testing.T) {
			f, s := newFixture()
			if err := s.SetFault(faultstore.Fault{Outage: true}, tc.op); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				err := tc.call(t.Context(), s)
				if !errors.Is(err, faultstore.ErrInjected) || errors.Is(err, faultstore.ErrInjectedAmbiguous) {
					t.Fatalf("call %d: got %v, want ErrInjected and not ErrInjectedAmbiguous", i, err)
				}
			}
			if got := f.calledTimes(tc.op.String()); got != 0 {
				t.Errorf("inner calls: got %d, want 0", got)
			}
			if got, want := s.Stats(tc.op), (faultstore.Stats{Calls: 3, Errors: 3}); got != want {
				t.Errorf("stats: got %+v, want %+v", got, want)
			}
			// Other kinds are untouched.
			for _, other := range opCases() {
				if other.op == tc.op {
					continue
				}
				if err := other.call(t.Context(), s); err != nil {
					t.Errorf("%s during %s outage: got %v, want nil", other.op, tc.op, err)
				}
			}
		})
	}
}

func TestOutageAllOps(t *testing.T) {
	_, s := newFixture()
	if err := s.SetFault(faultstore.Fault{Outage: true}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range opCases() {
		if err := tc.call(t.Context(), s); !errors.Is(err, faultstore.ErrInjected) {
			t.Errorf("%s: got %v, want ErrInjected", tc.op, err)
		}
	}
	s.Reset()
	for _, tc := range opCases() {
		if err := tc.call(t.Context(), s); err != nil {
			t.Errorf("%s after Reset: got %v, want nil", tc.op, err)
		}
	}
}

func TestErrorMessageNamesOp(t *testing.T) {
	_, s := newFixture()
	if err := s.SetFault(faultstore.Fault{Outage: true}, faultstore.OpSet); err != nil {
		t.Fatal(err)
	}
	err := s.Set(t.Context(), id, store.Record{})
	if got, want := err.Error(), "faultstore: set: faultstore: injected fault"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestFailNext(t *testing.T) {
	f, s := newFixture()
	if err := s.FailNext(2, faultstore.OpSet); err != nil {
		t.Fatal(err)
	}
	var got []bool
	for range 4 {
		err := s.Set(t.Context(), id, store.Record{Data: []byte("x")})
		if err != nil && !errors.Is(err, faultstore.ErrInjected) {
			t.Fatalf("got %v, want nil or ErrInjected", err)
		}
		got = append(got, err != nil)
	}
	if want := []bool{true, true, false, false}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("failures: got %v, want %v", got, want)
	}
	if got := f.calledTimes("set"); got != 2 {
		t.Errorf("inner sets: got %d, want 2", got)
	}
	if _, _, err := s.Get(t.Context(), id); err != nil {
		t.Errorf("get: got %v, want nil (FailNext was for set only)", err)
	}

	t.Run("zero cancels", func(t *testing.T) {
		if err := s.FailNext(5, faultstore.OpDelete); err != nil {
			t.Fatal(err)
		}
		if err := s.FailNext(0, faultstore.OpDelete); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(t.Context(), id); err != nil {
			t.Errorf("got %v, want nil", err)
		}
	})
	t.Run("outage does not consume", func(t *testing.T) {
		if err := s.FailNext(1, faultstore.OpGet); err != nil {
			t.Fatal(err)
		}
		if err := s.SetFault(faultstore.Fault{Outage: true}, faultstore.OpGet); err != nil {
			t.Fatal(err)
		}
		_, _, _ = s.Get(t.Context(), id)
		if err := s.SetFault(faultstore.Fault{}, faultstore.OpGet); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Get(t.Context(), id); !errors.Is(err, faultstore.ErrInjected) {
			t.Errorf("got %v, want the pending FailNext failure", err)
		}
	})
	t.Run("negative", func(t *testing.T) {
		if err := s.FailNext(-1); err == nil {
			t.Error("got nil, want an error")
		}
	})
}

// failurePattern records which of n sequential Gets failed.
func failurePattern(t *testing.T, s *faultstore.Store, n int) []bool {
	t.Helper()
	out := make([]bool, n)
	for i := range out {
		_, _, err := s.Get(t.Context(), id)
		if err != nil && !errors.Is(err, faultstore.ErrInjected) {
			t.Fatalf("got %v, want nil or ErrInjected", err)
		}
		out[i] = err != nil
	}
	return out
}

func TestErrorRate(t *testing.T) {
	const n = 400
	tests := []struct {
		name     string
		rate     float64
		min, max int
	}{
		{"never", 0, 0, 0},
		{"always", 1, n, n},
		{"thirty percent", 0.3, n * 2 / 10, n * 4 / 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, s := newFixture(faultstore.WithSeed(7))
			if err := s.SetFault(faultstore.Fault{ErrorRate: tt.rate}, faultstore.OpGet); err != nil {
				t.Fatal(err)
			}
			failed := 0
			for _, f := range failurePattern(t, s, n) {
				if f {
					failed++
				}
			}
			if failed < tt.min || failed > tt.max {
				t.Errorf("failures: got %d of %d, want in [%d, %d]", failed, n, tt.min, tt.max)
			}
			if got := s.Stats(faultstore.OpGet).Errors; got != uint64(failed) {
				t.Errorf("error counter: got %d, want %d", got, failed)
			}
		})
	}
}

func TestErrorRateDeterministic(t *testing.T) {
	pattern := func(seed uint64) string {
		_, s := newFixture(faultstore.WithSeed(seed))
		if err := s.SetFault(faultstore.Fault{ErrorRate: 0.5}, faultstore.OpGet); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(failurePattern(t, s, 64))
	}
	if a, b := pattern(42), pattern(42); a != b {
		t.Errorf("same seed: got %s and %s, want equal", a, b)
	}
	if a, b := pattern(42), pattern(43); a == b {
		t.Errorf("different seeds: got the same pattern %s twice", a)
	}
}

func TestSetFaultValidation(t *testing.T) {
	tests := []struct {
		name  string
		fault faultstore.Fault
		ops   []faultstore.Op
	}{
		{"rate below zero", faultstore.Fault{ErrorRate: -0.1}, nil},
		{"rate above one", faultstore.Fault{ErrorRate: 1.5}, nil},
		{"negative latency", faultstore.Fault{Latency: -time.Second}, nil},
		{"negative jitter", faultstore.Fault{Jitter: -time.Second}, nil},
		{"unknown op", faultstore.Fault{Outage: true}, []faultstore.Op{faultstore.OpGet, faultstore.Op(99)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, s := newFixture()
			if err := s.SetFault(tt.fault, tt.ops...); err == nil {
				t.Fatal("got nil, want an error")
			}
			for _, op := range faultstore.Ops() {
				if got := s.Fault(op); got != (faultstore.Fault{}) {
					t.Errorf("%s fault after rejected SetFault: got %+v, want zero", op, got)
				}
			}
		})
	}
}

func TestFaultReadBack(t *testing.T) {
	_, s := newFixture()
	want := faultstore.Fault{ErrorRate: 0.25, Ambiguous: true, Latency: time.Millisecond, Jitter: time.Millisecond, Drop: true}
	if err := s.SetFault(want, faultstore.OpSet, faultstore.OpDelete); err != nil {
		t.Fatal(err)
	}
	for _, op := range faultstore.Ops() {
		w := faultstore.Fault{}
		if op == faultstore.OpSet || op == faultstore.OpDelete {
			w = want
		}
		if got := s.Fault(op); got != w {
			t.Errorf("%s: got %+v, want %+v", op, got, w)
		}
	}
	if got := s.Fault(faultstore.Op(99)); got != (faultstore.Fault{}) {
		t.Errorf("unknown op: got %+v, want zero", got)
	}
}

func TestOpString(t *testing.T) {
	tests := []struct {
		op   faultstore.Op
		want string
	}{
		{faultstore.OpGet, "get"},
		{faultstore.OpSet, "set"},
		{faultstore.OpDelete, "delete"},
		{faultstore.OpDeleteVersion, "delete_version"},
		{faultstore.OpScan, "scan"},
		{faultstore.Op(42), "op(42)"},
	}
	for _, tt := range tests {
		if got := tt.op.String(); got != tt.want {
			t.Errorf("Op(%d).String(): got %q, want %q", uint8(tt.op), got, tt.want)
		}
	}
}

func TestNewNilPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("got no panic, want one for a nil inner store")
		}
	}()
	faultstore.New(nil)
}
