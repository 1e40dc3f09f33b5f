package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// srv is the redis-server every test shares; each test isolates itself
// with its own control prefix.
var srv *redistest.Server

func TestMain(m *testing.M) {
	s, err := redistest.NewServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv = s
	code := m.Run()
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// result is one migratectl invocation's outcome.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// harness runs migratectl against srv under a control prefix of its own.
type harness struct {
	t      *testing.T
	prefix string
	env    map[string]string
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_-]`)

func newHarness(t *testing.T) *harness {
	t.Helper()
	prefix := "t-" + unsafeChars.ReplaceAllString(t.Name(), "_")
	h := &harness{t: t, prefix: prefix, env: map[string]string{
		"MIGRATECTL_REDIS_ADDR":     srv.Addr,
		"MIGRATECTL_CONTROL_PREFIX": prefix,
		"MIGRATECTL_CLI_ACTOR":      "tester",
	}}
	rdb := srv.Client(t)
	t.Cleanup(func() {
		keys, _ := rdb.Keys(context.Background(), "{"+prefix+"}:*").Result()
		if len(keys) > 0 {
			rdb.Del(context.Background(), keys...)
		}
	})
	return h
}

// runWith runs migratectl in-process with stdin and optional app tweaks.
func (h *harness) runWith(stdin string, tweak func(*app), args ...string) result {
	var out, errb bytes.Buffer
	a := &app{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, env: func(k string) string { return h.env[k] }}
	if tweak != nil {
		tweak(a)
	}
	code := a.run(args)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// run runs migratectl with empty stdin through the real entry point.
func (h *harness) run(args ...string) result {
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errb, func(k string) string { return h.env[k] })
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// ok runs args and fails the test unless migratectl exits 0.
func (h *harness) ok(args ...string) result {
	h.t.Helper()
	r := h.run(args...)
	if r.code != exitOK {
		h.t.Fatalf("migratectl %s: %v", strings.Join(args, " "), r)
	}
	return r
}

// client returns a control client on the harness's prefix.
func (h *harness) client() *control.Client {
	h.t.Helper()
	c, err := control.New(srv.Client(h.t), control.Options{Prefix: h.prefix})
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// rdb returns a plain Redis client of srv, closed on cleanup.
func (h *harness) rdb() *redis.Client { return srv.Client(h.t) }

// state reads the stored state.
func (h *harness) state() control.State {
	h.t.Helper()
	s, err := h.client().State(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// setState moves the state to stage and percent directly, bypassing the
// stage rules, and returns the state written.
func (h *harness) setState(stage string, percent float64) control.State {
	h.t.Helper()
	s, err := h.client().Apply(context.Background(), func(cur control.State) (control.State, error) {
		cur.Stage, cur.Percent, cur.Actor, cur.Reason = stage, percent, "setup", "test setup"
		return cur, nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// decodeJSON decodes r's stdout into v, failing the test otherwise.
func decodeJSON(t *testing.T, r result, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("stdout is not the documented JSON: %v\n%s", err, r.stdout)
	}
}

// oneLine fails the test unless stderr is exactly one line starting with
// "migratectl: " and containing every want.
func oneLine(t *testing.T, r result, want ...string) {
	t.Helper()
	if !strings.HasPrefix(r.stderr, "migratectl: ") || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("stderr is not one \"migratectl: \" line: %q", r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr %q does not contain %q", r.stderr, w)
		}
	}
}

// rdbAt returns a client of the Redis h's migratectl talks to
// (MIGRATECTL_REDIS_ADDR), closed on cleanup.
func (h *harness) rdbAt() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: h.env["MIGRATECTL_REDIS_ADDR"], ContextTimeoutEnabled: true})
	h.t.Cleanup(func() { c.Close() })
	return c
}
