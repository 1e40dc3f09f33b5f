package redisstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/store"
)

// TestNoScript: after SCRIPT FLUSH (as after a restart or failover) every
// operation reloads its script, the Scan pipeline included.
func TestNoScript(t *testing.T) {
	forEachTopology(t, func(t *testing.T, tp topology) {
		ctx := testContext(t)
		s, c := newTestStore(t, tp, Options{})
		exp := time.Now().Add(time.Hour)
		flush := func() {
			t.Helper()
			for _, n := range tp.nodes(t) {
				if err := n.ScriptFlush(ctx).Err(); err != nil {
					t.Fatal(err)
				}
				exists, err := n.ScriptExists(ctx, s.scripts.get.Hash(), s.scripts.setVersioned.Hash()).Result()
				if err != nil {
					t.Fatal(err)
				}
				if exists[0] || exists[1] {
					t.Fatalf("scripts still cached after SCRIPT FLUSH: %v", exists)
				}
			}
		}
		steps := []struct {
			name string
			run  func() error
		}{
			{"versioned Set", func() error {
				return s.Set(ctx, "id", store.Record{Data: []byte("v2"), ExpiresAt: exp, Version: 2})
			}},
			{"unversioned Set", func() error {
				return s.Set(ctx, "other", store.Record{Data: []byte("v0"), ExpiresAt: exp})
			}},
			{"Get", func() error {
				rec, found, err := s.Get(ctx, "id")
				if err == nil && (!found || rec.Version != 2) {
					t.Fatalf("Get: got (%+v, %v), want version 2", rec, found)
				}
				return err
			}},
			{"Scan", func() error {
				n := 0
				err := s.Scan(ctx, func(string, store.Record) error { n++; return nil })
				if err == nil && n != 2 {
					t.Fatalf("Scan visited %d records, want 2", n)
				}
				return err
			}},
			{"DeleteVersion", func() error { return s.DeleteVersion(ctx, "id", 3, exp) }},
			// A sidecar without expiry is read again with the get script,
			// alone (Get) or in a pipeline (Scan).
			{"Get of a previous release's record", func() error {
				plantPrevious(t, s, c, "old", "x", "d4", exp)
				rec, found, err := s.Get(ctx, "old")
				if err == nil && (!found || rec.Version != 4 || rec.ExpiresAt.UnixMilli() != exp.UnixMilli()) {
					t.Fatalf("Get: got (%+v, %v), want version 4 expiring at %v", rec, found, exp)
				}
				return err
			}},
			{"Scan of a previous release's record", func() error {
				n := 0
				err := s.Scan(ctx, func(id string, rec store.Record) error {
					if id == "old" && rec.Version != 4 {
						t.Fatalf("Scan: got version %d for the previous release's record, want 4", rec.Version)
					}
					n++
					return nil
				})
				if err == nil && n != 2 {
					t.Fatalf("Scan visited %d records, want 2", n)
				}
				return err
			}},
		}
		for _, step := range steps {
			flush()
			if err := step.run(); err != nil {
				t.Fatalf("%s after SCRIPT FLUSH: %v", step.name, err)
			}
		}
	})
}

// TestDeadline: a stalled server (CLIENT PAUSE) does not hold a call past
// the caller's deadline or Options.Timeout, and the error says why.
func TestDeadline(t *testing.T) {
	srv := redistest.StartServer(t)
	admin := srv.Client(t)
	ctx := testContext(t)
	// CLIENT UNPAUSE would itself wait out the pause, so the pause is long
	// enough for every case and the server is killed at cleanup instead.
	if err := admin.Do(ctx, "client", "pause", 5_000, "all").Err(); err != nil {
		t.Fatal(err)
	}

	const limit = 100 * time.Millisecond
	tests := []struct {
		name    string
		timeout time.Duration // Options.Timeout
		ctx     func() (context.Context, context.CancelFunc)
	}{
		{"caller deadline", 0, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(ctx, limit)
		}},
		{"Options.Timeout", limit, func() (context.Context, context.CancelFunc) {
			return context.WithCancel(ctx)
		}},
	}
	ops := []struct {
		name string
		run  func(ctx context.Context, s *Store) error
	}{
		{"Get", func(ctx context.Context, s *Store) error { _, _, err := s.Get(ctx, "id"); return err }},
		{"Set", func(ctx context.Context, s *Store) error {
			return s.Set(ctx, "id", store.Record{Data: []byte("x"), Version: 1})
		}},
		{"Delete", func(ctx context.Context, s *Store) error { return s.Delete(ctx, "id") }},
		{"Scan", func(ctx context.Context, s *Store) error {
			return s.Scan(ctx, func(string, store.Record) error { return nil })
		}},
	}
	for _, tt := range tests {
		for _, op := range ops {
			t.Run(tt.name+"/"+op.name, func(t *testing.T) {
				client := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true, MaxRetries: -1})
				defer client.Close()
				s := New(client, Options{Timeout: tt.timeout})
				cctx, cancel := tt.ctx()
				defer cancel()
				start := time.Now()
				err := op.run(cctx, s)
				elapsed := time.Since(start)
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("got error %v, want one wrapping context.DeadlineExceeded", err)
				}
				if elapsed > limit+time.Second {
					t.Fatalf("call returned after %v, want about %v", elapsed, limit)
				}
			})
		}
	}
}

// TestCanceledContext: an ended context fails at once, without a command.
func TestCanceledContext(t *testing.T) {
	s, _ := newTestStore(t, topologies[0], Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	errs := map[string]error{
		"Get":           func() error { _, _, err := s.Get(ctx, "id"); return err }(),
		"Set":           s.Set(ctx, "id", store.Record{Data: []byte("x")}),
		"Delete":        s.Delete(ctx, "id"),
		"DeleteVersion": s.DeleteVersion(ctx, "id", 1, time.Time{}),
		"Scan":          s.Scan(ctx, func(string, store.Record) error { return nil }),
	}
	for op, err := range errs {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: got %v, want an error wrapping context.Canceled", op, err)
		}
	}
}

// TestSentinel runs the store through a sentinel-backed client.
func TestSentinel(t *testing.T) {
	sentinel := redistest.StartSentinel(t)
	ctx := testContext(t)
	s := New(sentinel.Client(t), Options{})
	exp := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	want := store.Record{Data: []byte("via sentinel"), ExpiresAt: exp, Version: 4}
	if err := s.Set(ctx, "id", want); err != nil {
		t.Fatal(err)
	}
	got, found, err := s.Get(ctx, "id")
	if err != nil || !found {
		t.Fatalf("Get: got found %v, err %v, want the record", found, err)
	}
	if string(got.Data) != string(want.Data) || got.Version != want.Version || !got.ExpiresAt.Equal(exp) {
		t.Fatalf("Get: got %+v, want %+v", got, want)
	}
	visited := 0
	if err := s.Scan(ctx, func(string, store.Record) error { visited++; return nil }); err != nil {
		t.Fatal(err)
	}
	if visited != 1 {
		t.Fatalf("Scan visited %d records, want 1", visited)
	}
	if err := s.DeleteVersion(ctx, "id", 4, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "id", want); err != nil {
		t.Fatal(err)
	}
	if _, found, err := s.Get(ctx, "id"); err != nil || found {
		t.Fatalf("Get after DeleteVersion and an equal-version Set: got found %v, err %v, want a miss", found, err)
	}
}
