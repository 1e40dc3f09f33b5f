package demo

import (
	"errors"
	"strings"
	"testing"

	"github.com/sessionmigrate/sessionmigrate/internal/redisfidelity"
)

// TestProbeOnMiniredis: the embedded fallback runs every call the Migrator
// makes on the session store, with expiry exact to the millisecond.
func TestProbeOnMiniredis(t *testing.T) {
	b, err := startEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := probe(t.Context(), b); err != nil {
		t.Fatalf("probe on miniredis: %v", err)
	}
}

func TestProbeOnRedisServer(t *testing.T) {
	requireRedisServer(t)
	b, err := startRedisServer(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := probe(t.Context(), b); err != nil {
		t.Errorf("probe on %s: got %v, want nil", b.name, err)
	}
	c := b.client()
	defer c.Close()
	if n, err := c.DBSize(t.Context()).Result(); err != nil || n != 0 {
		t.Errorf("keys left by the probe: got %d (%v), want 0", n, err)
	}
}

func TestStartBackendForceRealWithoutRedisServer(t *testing.T) {
	t.Setenv("REDIS_SERVER", "")
	t.Setenv("PATH", t.TempDir())
	_, err := startBackend(t.Context(), Options{ForceRealRedis: true}, func(string, ...any) {})
	if !errors.Is(err, ErrNoRedis) || !strings.Contains(err.Error(), "apt-get install redis-server") {
		t.Errorf("got %v, want ErrNoRedis with an install hint", err)
	}
}

func TestStartBackendFallsBackToMiniredis(t *testing.T) {
	t.Setenv("REDIS_SERVER", "")
	t.Setenv("PATH", t.TempDir())
	var said strings.Builder
	b, err := startBackend(t.Context(), Options{}, func(format string, args ...any) { said.WriteString(format) })
	if err == nil {
		b.Close()
	}
	if !strings.Contains(said.String(), "miniredis") {
		t.Errorf("narration: got %q, want it to say it tries miniredis", said.String())
	}
	if err != nil {
		t.Errorf("got %v, want the embedded backend", err)
	}
}

// TestBackendFidelity holds both of the demo's backends to the same
// answers on everything the demo and redisstore rely on: absolute expiry
// exact to the millisecond, PTTL and expiry by the real clock, Lua,
// MGET (see internal/redisfidelity).
func TestBackendFidelity(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		b, err := startEmbedded()
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		redisfidelity.Run(t, b.addr)
	})
	t.Run("redis-server", func(t *testing.T) {
		requireRedisServer(t)
		b, err := startRedisServer(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		redisfidelity.Run(t, b.addr)
	})
}
