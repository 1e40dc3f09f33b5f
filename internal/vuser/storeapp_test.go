package vuser

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
)

// Broken stores, each breaking one promise, to show that the load counts
// it through StoreApp.

// forgetful never finds a session: every user is logged out.
type forgetful struct{ store.Store }

func (forgetful) Get(context.Context, string) (store.Record, bool, error) {
	return store.Record{}, false, nil
}

// firstWriteWins ignores writes to a session that exists: increments are
// lost.
type firstWriteWins struct{ store.Store }

func (s firstWriteWins) Set(ctx context.Context, id string, rec store.Record) error {
	if _, found, err := s.Store.Get(ctx, id); err != nil || found {
		return err
	}
	return s.Store.Set(ctx, id, rec)
}

// undeletable ignores deletes: ended sessions come back.
type undeletable struct{ store.Store }

func (undeletable) Delete(context.Context, string) error { return nil }

// unwritable fails every write: logins fail.
type unwritable struct{ store.Store }

func (unwritable) Set(context.Context, string, store.Record) error {
	return errors.New("store unavailable")
}

// extending moves the expiry on every write.
type extending struct{ store.Store }

func (s extending) Set(ctx context.Context, id string, rec store.Record) error {
	rec.ExpiresAt = rec.ExpiresAt.Add(time.Second)
	return s.Store.Set(ctx, id, rec)
}

func TestStoreAppCountsBrokenPromises(t *testing.T) {
	tests := []struct {
		name  string
		wrap  func(store.Store) store.Store
		count func(Result) uint64 // nil: none
	}{
		{"correct store", func(s store.Store) store.Store { return s }, nil},
		{"forgets sessions", func(s store.Store) store.Store { return forgetful{s} }, func(r Result) uint64 { return r.Logouts }},
		{"loses writes", func(s store.Store) store.Store { return firstWriteWins{s} }, func(r Result) uint64 { return r.LostWrites }},
		{"ignores deletes", func(s store.Store) store.Store { return undeletable{s} }, func(r Result) uint64 { return r.Resurrections }},
		{"fails writes", func(s store.Store) store.Store { return unwritable{s} }, func(r Result) uint64 { return r.Failed }},
		{"extends sessions", func(s store.Store) store.Store { return extending{s} }, func(r Result) uint64 { return r.Anomalies }},
	}
	for _, policy := range []Policy{Sticky, RoundRobin} {
		for _, tt := range tests {
			t.Run(policy.String()+"/"+tt.name, func(t *testing.T) {
				mem := memstore.New()
				defer mem.Close()
				s := tt.wrap(mem)
				// Every instance shares one store, so any balancing is
				// correct.
				app := StoreApp{Stores: []store.Store{s, s, s}}
				r := runLoad(t, Config{App: app, Balancer: newPool(t, policy), Users: 4, Think: time.Millisecond, Seed: 1}, 150)
				if tt.count == nil {
					if !r.Clean() {
						t.Fatalf("correct store: got %s, want no broken promise", r)
					}
					checkStored(t, mem, r)
					return
				}
				if got := tt.count(r); got == 0 || got != r.Bad() {
					t.Errorf("got %s; want only %s counted", r, tt.name)
				}
			})
		}
	}
}

// checkStored checks that every live session of r is in s as its user
// knows it, and every dead one is gone.
func checkStored(t *testing.T, s store.Store, r Result) {
	t.Helper()
	ctx := context.Background()
	if len(r.Live) == 0 || len(r.Dead) == 0 {
		t.Fatalf("got %d live and %d dead sessions, want some of each", len(r.Live), len(r.Dead))
	}
	for _, l := range r.Live {
		rec, found, err := s.Get(ctx, l.ID)
		if err != nil || !found {
			t.Errorf("%s: Get: %v, found %t", l.User, err, found)
			continue
		}
		got, err := DecodeSession(rec.Data)
		ok := err == nil && got.User == l.User && (got.Counter == l.Counter || (l.Uncertain && got.Counter == l.Counter+1))
		if !ok || !rec.ExpiresAt.Equal(l.Expires) {
			t.Errorf("%s: store holds %+v (%v) expiring %v, user knows counter %d expiring %v", l.User, got, err, rec.ExpiresAt, l.Counter, l.Expires)
		}
	}
	for _, id := range r.Dead {
		if _, found, _ := s.Get(ctx, id); found {
			t.Error("a dead session is still stored")
		}
	}
}

func TestStoreAppReplies(t *testing.T) {
	ctx := context.Background()
	mem := memstore.New()
	defer mem.Close()
	now := time.Date(2030, 1, 1, 0, 0, 0, 123456789, time.UTC)
	app := StoreApp{Stores: []store.Store{mem}, Lifetime: time.Minute, Now: func() time.Time { return now }}

	login := app.Do(ctx, Request{Op: Login, User: "ann"})
	wantExp := now.Add(time.Minute).Truncate(time.Millisecond)
	if login.Outcome != OK || login.SID == "" || login.Session != (Session{User: "ann", Expires: wantExp}) {
		t.Fatalf("login: got %+v", login)
	}
	if inc := app.Do(ctx, Request{Op: Increment, SID: login.SID}); inc.Outcome != OK || inc.Session.Counter != 1 {
		t.Fatalf("increment: got %+v", inc)
	}
	rot := app.Do(ctx, Request{Op: Rotate, SID: login.SID})
	if rot.Outcome != OK || rot.SID == "" || rot.SID == login.SID || rot.Session.Counter != 1 || !rot.Session.Expires.Equal(wantExp) {
		t.Fatalf("rotate: got %+v", rot)
	}
	if old := app.Do(ctx, Request{Op: Read, SID: login.SID}); old.Outcome != NoSession {
		t.Fatalf("read of the rotated-away id: got %+v, want NoSession", old)
	}
	if out := app.Do(ctx, Request{Op: Logout, SID: rot.SID}); out.Outcome != OK {
		t.Fatalf("logout: got %+v", out)
	}
	if gone := app.Do(ctx, Request{Op: Read, SID: rot.SID}); gone.Outcome != NoSession {
		t.Fatalf("read after logout: got %+v, want NoSession", gone)
	}
	_ = mem.Set(ctx, "garbage", store.Record{Data: []byte("<html>")})
	if bad := app.Do(ctx, Request{Op: Read, SID: "garbage"}); bad.Outcome != Malformed {
		t.Fatalf("read of undecodable bytes: got %+v, want Malformed", bad)
	}
	if none := app.Do(ctx, Request{Instance: 1, Op: Read, SID: "x"}); none.Outcome != Failed {
		t.Fatalf("instance 1 of 1: got %+v, want Failed", none)
	}
}
