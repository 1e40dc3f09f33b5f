package demo

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
)

// Broken stores, each breaking one promise, to show that the load counts
// every kind of broken promise (and nothing else).

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

func TestLoadCountsBrokenPromises(t *testing.T) {
	tests := []struct {
		name string
		wrap func(store.Store) store.Store
		// want names the one counter that must be positive ("" for none);
		// the other three must stay zero.
		want string
	}{
		{"correct store", func(s store.Store) store.Store { return s }, ""},
		{"forgets sessions", func(s store.Store) store.Store { return forgetful{s} }, "logouts"},
		{"loses writes", func(s store.Store) store.Store { return firstWriteWins{s} }, "lost writes"},
		{"ignores deletes", func(s store.Store) store.Store { return undeletable{s} }, "resurrections"},
		{"fails writes", func(s store.Store) store.Store { return unwritable{s} }, "failed"},
	}
	const users, perUser = 2, 300
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memstore.New()
			defer mem.Close()
			l := startLoad(t.Context(), loadConfig{
				stores: []store.Store{tt.wrap(mem)}, users: users, maxRequests: perUser,
				maxDuration: 30 * time.Second, seed: 1,
			})
			waitFor(t, "every user to finish", func() bool { return l.snapshot().Requests == users*perUser })
			res := l.stop()
			counts := map[string]uint64{"failed": res.Failed, "logouts": res.Logouts,
				"lost writes": res.LostWrites, "resurrections": res.Resurrections}
			for name, n := range counts {
				switch {
				case name == tt.want && n == 0:
					t.Errorf("%s: got 0, want > 0", name)
				case name != tt.want && n != 0:
					t.Errorf("%s: got %d, want 0 (problems: %q)", name, n, res.Problems)
				}
			}
			if tt.want != "" && len(res.Problems) == 0 {
				t.Errorf("problems: got none, want descriptions of what broke")
			}
			for _, p := range res.Problems {
				for _, s := range res.live {
					if len(s.ID) > 0 && strings.Contains(p, s.ID) {
						t.Errorf("problem %q contains a session id", p)
					}
				}
			}
		})
	}
}

// TestLoadStopsAtItsTimeBound: users stop on their own when maxDuration
// has passed, though their request bound is far away.
func TestLoadStopsAtItsTimeBound(t *testing.T) {
	mem := memstore.New()
	defer mem.Close()
	l := startLoad(t.Context(), loadConfig{
		stores: []store.Store{mem}, users: 2, think: time.Millisecond, maxRequests: 1 << 30,
		maxDuration: 100 * time.Millisecond, seed: 1,
	})
	defer l.stop()
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("users still running 10s after a 100ms time bound")
	}
	if got := l.snapshot().Requests; got == 0 {
		t.Errorf("requests: got 0, want some before the time bound")
	}
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
