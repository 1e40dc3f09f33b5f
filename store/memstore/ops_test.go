package memstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

func rec(data string, exp time.Time, version uint64) store.Record {
	return store.Record{Data: []byte(data), ExpiresAt: exp, Version: version}
}

func TestCanceledContext(t *testing.T) {
	s := newTestStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, op := range storeOps {
		t.Run(op.name, func(t *testing.T) {
			err := op.call(ctx, s)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("%s(canceled ctx) = %v, want an error wrapping context.Canceled", op.name, err)
			}
			if !strings.HasPrefix(err.Error(), op.prefix) {
				t.Errorf("%s error = %q, want prefix %q", op.name, err, op.prefix)
			}
		})
	}
}

// TestCopySemantics pins the documented choice: copy on Set, copy on Get
// and Scan, so no caller can reach the stored bytes.
func TestCopySemantics(t *testing.T) {
	ctx := t.Context()
	s := newTestStore(t)
	exp := time.Now().Add(time.Hour)
	in := []byte("original")
	if err := s.Set(ctx, "id", store.Record{Data: in, ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	in[0] = 'X'

	a, _, _ := s.Get(ctx, "id")
	b, _, _ := s.Get(ctx, "id")
	if string(a.Data) != "original" {
		t.Fatalf("Get after the caller modified its Set buffer = %q, want %q", a.Data, "original")
	}
	if &a.Data[0] == &b.Data[0] {
		t.Fatal("two Gets returned the same backing array, want independent copies")
	}
	a.Data[0] = 'Y'
	if err := s.Scan(ctx, func(_ string, r store.Record) error {
		if string(r.Data) != "original" {
			t.Errorf("Scan after the caller modified a Get result = %q, want %q", r.Data, "original")
		}
		r.Data[0] = 'Z'
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if c, _, _ := s.Get(ctx, "id"); string(c.Data) != "original" {
		t.Fatalf("Get after the Scan callback modified its record = %q, want %q", c.Data, "original")
	}
}

func TestLen(t *testing.T) {
	clock := newFakeClock()
	s := newTestStore(t, WithClock(clock.Now))
	ctx := t.Context()
	now := clock.Now()
	steps := []struct {
		name string
		do   func() error
		want int
	}{
		{"empty", func() error { return nil }, 0},
		{"one record", func() error { return s.Set(ctx, "a", rec("a", now.Add(time.Hour), 0)) }, 1},
		{"second record, short-lived", func() error { return s.Set(ctx, "b", rec("b", now.Add(time.Minute), 0)) }, 2},
		{"overwrite", func() error { return s.Set(ctx, "a", rec("a2", now.Add(time.Hour), 0)) }, 2},
		{"tombstone on a new id", func() error { return s.DeleteVersion(ctx, "c", 1, time.Time{}) }, 2},
		{"tombstone over a record", func() error { return s.DeleteVersion(ctx, "a", 1, time.Time{}) }, 1},
		{"short-lived record expires", func() error { clock.Advance(time.Minute); return nil }, 0},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := s.Len(); got != st.want {
			t.Errorf("after %s: Len() = %d, want %d", st.name, got, st.want)
		}
	}
}
