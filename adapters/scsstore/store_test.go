package scsstore_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/adapters/scsstore"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
)

func newMem(t *testing.T) *memstore.Store {
	t.Helper()
	m := memstore.New()
	t.Cleanup(func() { m.Close() })
	return m
}

func TestFindCommitDelete(t *testing.T) {
	ctx := context.Background()
	hour := time.Now().Add(time.Hour)
	tests := []struct {
		name      string
		commits   []time.Time // expiries committed under "tok", in order
		delete    bool
		wantFound bool
	}{
		{"never committed", nil, false, false},
		{"committed", []time.Time{hour}, false, true},
		{"committed twice", []time.Time{hour, hour.Add(time.Minute)}, false, true},
		{"committed already expired", []time.Time{time.Now().Add(-time.Second)}, false, false},
		{"past expiry removes the session", []time.Time{hour, time.Now().Add(-time.Second)}, false, false},
		{"deleted", []time.Time{hour}, true, false},
		{"deleted, never committed", nil, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := newMem(t)
			s := scsstore.New(mem)
			var last []byte
			for i, exp := range tt.commits {
				last = []byte{'v', byte('0' + i)}
				if err := s.CommitCtx(ctx, "tok", last, exp); err != nil {
					t.Fatalf("CommitCtx: %v", err)
				}
			}
			if tt.delete {
				if err := s.DeleteCtx(ctx, "tok"); err != nil {
					t.Fatalf("DeleteCtx: got %v, want nil", err)
				}
			}
			b, found, err := s.FindCtx(ctx, "tok")
			if err != nil || found != tt.wantFound {
				t.Fatalf("FindCtx: got found %t, err %v; want found %t, nil", found, err, tt.wantFound)
			}
			if !found {
				if b != nil {
					t.Errorf("FindCtx of a missing session: got %q, want nil", b)
				}
				return
			}
			if !bytes.Equal(b, last) {
				t.Errorf("FindCtx: got %q, want %q", b, last)
			}
			rec, _, _ := mem.Get(ctx, "tok")
			if want := tt.commits[len(tt.commits)-1].Truncate(time.Millisecond); !rec.ExpiresAt.Equal(want) {
				t.Errorf("stored expiry: got %v, want %v (absolute, to the millisecond)", rec.ExpiresAt, want)
			}
		})
	}
}

// The plain scs.Store methods are the Ctx ones.
func TestWithoutContext(t *testing.T) {
	s := scsstore.New(newMem(t))
	if err := s.Commit("tok", []byte("data"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if b, found, err := s.Find("tok"); err != nil || !found || string(b) != "data" {
		t.Fatalf("Find: got %q, %t, %v; want data, true, nil", b, found, err)
	}
	all, err := s.All()
	if err != nil || len(all) != 1 || string(all["tok"]) != "data" {
		t.Fatalf("All: got %q, %v; want tok: data", all, err)
	}
	if err := s.Delete("tok"); err != nil {
		t.Fatal(err)
	}
	if _, found, err := s.Find("tok"); err != nil || found {
		t.Fatalf("Find after Delete: got %t, %v; want false, nil", found, err)
	}
}

// The caller may reuse the slice it committed, and may modify what Find
// returned, without changing the stored session.
func TestDataOwnership(t *testing.T) {
	ctx := context.Background()
	s := scsstore.New(newMem(t))
	b := []byte("data")
	if err := s.CommitCtx(ctx, "tok", b, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	b[0] = 'X'
	got, _, _ := s.FindCtx(ctx, "tok")
	if string(got) != "data" {
		t.Fatalf("after modifying the committed slice: got %q, want data", got)
	}
	got[0] = 'Y'
	if again, _, _ := s.FindCtx(ctx, "tok"); string(again) != "data" {
		t.Fatalf("after modifying the found slice: got %q, want data", again)
	}
}

func TestAll(t *testing.T) {
	ctx := context.Background()
	s := scsstore.New(newMem(t))
	all, err := s.AllCtx(ctx)
	if err != nil || all == nil || len(all) != 0 {
		t.Fatalf("AllCtx of an empty store: got %v (nil %t), %v; want an empty non-nil map", all, all == nil, err)
	}
	want := map[string]string{"a": "1", "b": "2", "c": "3"}
	for tok, v := range want {
		if err := s.CommitCtx(ctx, tok, []byte(v), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.CommitCtx(ctx, "gone", []byte("x"), time.Now().Add(time.Hour))
	_ = s.DeleteCtx(ctx, "gone")
	all, err = s.AllCtx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(want) {
		t.Errorf("AllCtx: got %d sessions, want %d", len(all), len(want))
	}
	for tok, v := range want {
		if string(all[tok]) != v {
			t.Errorf("AllCtx[%s]: got %q, want %q", tok, all[tok], v)
		}
	}
}

// plain is a store.Store that cannot list its sessions.
type plain struct{ store.Store }

func TestAllNeedsAScanner(t *testing.T) {
	s := scsstore.New(plain{newMem(t)})
	all, err := s.AllCtx(context.Background())
	if !errors.Is(err, scsstore.ErrNotIterable) || all != nil {
		t.Fatalf("AllCtx: got %v, %v; want nil, ErrNotIterable", all, err)
	}
}

// Store errors reach scs wrapped, never as "not found".
func TestErrors(t *testing.T) {
	ctx := context.Background()
	fs := faultstore.New(newMem(t))
	if err := fs.SetFault(faultstore.Fault{Outage: true}); err != nil {
		t.Fatal(err)
	}
	s := scsstore.New(fs)
	calls := []struct {
		name string
		call func() error
	}{
		{"FindCtx", func() error { _, _, err := s.FindCtx(ctx, "tok"); return err }},
		{"CommitCtx", func() error { return s.CommitCtx(ctx, "tok", []byte("x"), time.Now().Add(time.Hour)) }},
		{"DeleteCtx", func() error { return s.DeleteCtx(ctx, "tok") }},
		{"AllCtx", func() error { _, err := s.AllCtx(ctx); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, faultstore.ErrInjected) {
				t.Errorf("got %v, want an error wrapping the store's", err)
			}
		})
	}
}
