package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
)

// TestPassword runs against a server requiring a password, given through
// the environment or a password file, never a flag.
func TestPassword(t *testing.T) {
	// redistest waits for an unauthenticated PONG, so the password is set
	// once the server runs.
	s := redistest.StartServer(t)
	if err := s.Client(t).ConfigSet(context.Background(), "requirepass", "s3cret").Err(); err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
	}{
		{"env", map[string]string{"MIGRATECTL_REDIS_PASSWORD": "s3cret"}, nil, exitOK},
		{"file flag", nil, []string{"--redis-password-file", pwFile}, exitOK},
		{"file env", map[string]string{"MIGRATECTL_REDIS_PASSWORD_FILE": pwFile}, nil, exitOK},
		{"wrong", map[string]string{"MIGRATECTL_REDIS_PASSWORD": "wrong"}, nil, exitError},
		{"none", nil, nil, exitError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &harness{t: t, env: map[string]string{"MIGRATECTL_REDIS_ADDR": s.Addr}}
			for k, v := range tt.env {
				h.env[k] = v
			}
			r := h.run(append([]string{"status"}, tt.args...)...)
			if r.code != tt.code {
				t.Fatalf("exit: got %d, want %d\n%v", r.code, tt.code, r)
			}
			if tt.code != exitOK {
				oneLine(t, r, "Redis at "+s.Addr+" refused the connection")
			}
			if strings.Contains(r.stdout+r.stderr, "s3cret") || strings.Contains(r.stderr, "wrong") {
				t.Errorf("output shows the password:\n%v", r)
			}
		})
	}
}

func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	c := redistest.StartCluster(t)
	h := &harness{t: t, env: map[string]string{"MIGRATECTL_CLI_ACTOR": "tester"}}
	args := []string{"--cluster", "--redis-addr", strings.Join(c.Addrs, ",")}
	h.ok(append(args, "stage", "shadow", "--reason", "cluster")...)
	var v statusView
	decodeJSON(t, h.ok(append(args, "status", "-o", "json")...), &v)
	if v.State.Stage != "shadow" || v.State.Epoch != 1 {
		t.Errorf("got %+v, want shadow at epoch 1", v.State)
	}
}

func TestSentinel(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a master, a replica and a sentinel")
	}
	s := redistest.StartSentinel(t)
	h := &harness{t: t, env: map[string]string{"MIGRATECTL_CLI_ACTOR": "tester"}}
	args := []string{"--sentinel-master", s.MasterName, "--redis-addr", strings.Join(s.SentinelAddrs, ",")}
	h.ok(append(args, "stage", "shadow", "--reason", "sentinel")...)
	var v statusView
	decodeJSON(t, h.ok(append(args, "status", "-o", "json")...), &v)
	if v.State.Stage != "shadow" || v.State.Epoch != 1 {
		t.Errorf("got %+v, want shadow at epoch 1", v.State)
	}
}
