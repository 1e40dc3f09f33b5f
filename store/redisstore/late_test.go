package redisstore

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/internal/faultproxy"
	"github.com/sessionmigrate/sessionmigrate/store"
)

// lateWriter is a Store whose commands a proxy can hold back and deliver
// late: what a starved or distant Redis does to a command the client has
// already given up on. The client times out after timeout; the command
// still reaches the server when the proxy lets it through.
type lateWriter struct {
	*Store
	proxy *faultproxy.Proxy
}

func newLateWriter(t *testing.T, addr string) *lateWriter {
	t.Helper()
	p, err := faultproxy.New(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	c := redis.NewClient(&redis.Options{
		Addr:                  p.Addr(),
		ContextTimeoutEnabled: true,
		MaxRetries:            -1,
		PoolSize:              1,
	})
	t.Cleanup(func() { c.Close() })
	return &lateWriter{Store: New(c, Options{}), proxy: p}
}

// late runs write with the proxy holding every byte, so the client gives
// up (the write fails with a timeout), and returns a function that lets the
// held command through and waits until the server has run it.
func (w *lateWriter) late(t *testing.T, direct *redis.Client, write func(ctx context.Context) error) (land func()) {
	t.Helper()
	ctx := testContext(t)
	if err := w.client.Ping(ctx).Err(); err != nil { // a connection, and the scripts, before the hold
		t.Fatal(err)
	}
	if err := w.proxy.SetMode(faultproxy.Blackhole); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	err := write(wctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("held write: got %v, want a timeout", err)
	}
	return func() {
		t.Helper()
		before := scriptCalls(t, direct)
		if err := w.proxy.SetMode(faultproxy.Pass); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for scriptCalls(t, direct) == before {
			if time.Now().After(deadline) {
				t.Fatal("the held command never reached the server")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// scriptCalls counts the scripts the server has run.
func scriptCalls(t *testing.T, c redis.UniversalClient) int64 {
	t.Helper()
	calls := commandCalls(t, c)
	return calls["evalsha"] + calls["eval"]
}

// TestLateLatestWrites: a request-path write the client gave up on, which
// reaches Redis after a newer write of the same session was stored, changes
// nothing. By-arrival ordering must not let it overwrite the newer write
// (a lost write: the user reads older data than their last acknowledged
// write), nor bring back a session deleted after it (a resurrection), and a
// late delete must not remove a session written after it (a logout).
func TestLateLatestWrites(t *testing.T) {
	srv := sharedServer(t)
	exp := time.Now().Add(time.Hour)
	rec := func(data string, v uint64) store.Record {
		return store.Record{Data: []byte(data), ExpiresAt: exp, Version: v}
	}
	tests := []struct {
		name  string
		late  func(w *lateWriter) func(ctx context.Context) error
		newer func(ctx context.Context, s *Store) error
		want  func(t *testing.T, got store.Record, found bool)
	}{
		{
			name: "set after a newer set",
			late: func(w *lateWriter) func(ctx context.Context) error {
				return func(ctx context.Context) error { _, err := w.SetLatest(ctx, "id", rec("2", 20)); return err }
			},
			newer: func(ctx context.Context, s *Store) error { _, err := s.SetLatest(ctx, "id", rec("3", 30)); return err },
			want: func(t *testing.T, got store.Record, found bool) {
				if !found || string(got.Data) != "3" || got.Version != 30 {
					t.Fatalf("got (%q at %d, found %v), want \"3\" at 30: the late write overtook the newer one", got.Data, got.Version, found)
				}
			},
		},
		{
			name: "set after a newer delete",
			late: func(w *lateWriter) func(ctx context.Context) error {
				return func(ctx context.Context) error { _, err := w.SetLatest(ctx, "id", rec("2", 20)); return err }
			},
			newer: func(ctx context.Context, s *Store) error {
				_, err := s.DeleteLatest(ctx, "id", 30, time.Time{}, exp)
				return err
			},
			want: func(t *testing.T, got store.Record, found bool) {
				if found {
					t.Fatalf("got %q at %d, want the session deleted: the late write resurrected it", got.Data, got.Version)
				}
			},
		},
		{
			name: "delete after a newer set",
			late: func(w *lateWriter) func(ctx context.Context) error {
				return func(ctx context.Context) error {
					_, err := w.DeleteLatest(ctx, "id", 20, time.Time{}, exp)
					return err
				}
			},
			newer: func(ctx context.Context, s *Store) error { _, err := s.SetLatest(ctx, "id", rec("3", 30)); return err },
			want: func(t *testing.T, got store.Record, found bool) {
				if !found || string(got.Data) != "3" {
					t.Fatalf("got (%q, found %v), want \"3\": the late delete removed a newer write", got.Data, found)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testContext(t)
			direct := srv.Client(t)
			if err := direct.FlushAll(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			s := New(direct, Options{})
			w := newLateWriter(t, srv.Addr)
			if _, err := w.SetLatest(ctx, "id", rec("1", 10)); err != nil { // loads the scripts
				t.Fatal(err)
			}
			if _, err := w.DeleteLatest(ctx, "other", 10, time.Time{}, exp); err != nil {
				t.Fatal(err)
			}
			land := w.late(t, direct, tt.late(w))
			if err := tt.newer(ctx, s); err != nil {
				t.Fatal(err)
			}
			land()
			got, found, err := s.Get(ctx, "id")
			if err != nil {
				t.Fatal(err)
			}
			tt.want(t, got, found)
		})
	}
}

// TestLatestAttempts: each refused attempt is followed by one at the
// refusing version plus one, and the writer gives up with ErrContended
// after latestAttempts refusals, or at once when 2^64-1 is stored.
func TestLatestAttempts(t *testing.T) {
	reply := func(val any) *redis.Cmd {
		c := redis.NewCmd(context.Background())
		c.SetVal(val)
		return c
	}
	var sent []uint64
	v, err := latest(5, func(v uint64) *redis.Cmd {
		sent = append(sent, v)
		if len(sent) < 3 {
			return reply(strconv.FormatUint(v+10, 10)) // a newer writer got in first
		}
		return reply(int64(1))
	})
	if err != nil || v != 27 || !slices.Equal(sent, []uint64{5, 16, 27}) {
		t.Fatalf("got version %d, error %v after attempts at %v; want 27 after attempts at [5 16 27]", v, err, sent)
	}

	sent = sent[:0]
	_, err = latest(5, func(v uint64) *redis.Cmd {
		sent = append(sent, v)
		return reply(strconv.FormatUint(v, 10))
	})
	if !errors.Is(err, store.ErrContended) || len(sent) != latestAttempts {
		t.Fatalf("always refused: got %v after %d attempts, want ErrContended after %d", err, len(sent), latestAttempts)
	}

	sent = sent[:0]
	_, err = latest(5, func(v uint64) *redis.Cmd {
		sent = append(sent, v)
		return reply("18446744073709551615")
	})
	if err == nil || errors.Is(err, store.ErrContended) || len(sent) != 1 {
		t.Fatalf("2^64-1 stored: got %v after %d attempts, want the exhausted error after 1", err, len(sent))
	}
}
