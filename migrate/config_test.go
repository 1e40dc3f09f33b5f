package migrate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store/memstore"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "cfg.yaml")
	if err := os.WriteFile(file, []byte("redis:\n  addrs: [\"127.0.0.1:7000\"]\nmigration:\n  salt: s1\n  dist_timeout: 40ms\n  queue_size: 99\nguard:\n  consecutive_failures: 5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SESSIONMIGRATE_MIGRATION_SHADOW_SAMPLE", "7")
	opts, cfg, err := LoadConfig(file)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Salt != "s1" || opts.DistTimeout != 40*time.Millisecond || opts.QueueSize != 99 || opts.ShadowSample != 7 ||
		opts.Guard.ConsecutiveFailures != 5 || opts.DisableGuard {
		t.Fatalf("options: %+v", opts)
	}
	if cfg.Redis.Addrs[0] != "127.0.0.1:7000" {
		t.Fatalf("redis addrs: %v", cfg.Redis.Addrs)
	}
	l, d := memstore.New(), memstore.New()
	defer l.Close()
	defer d.Close()
	m, err := New(l, d, opts)
	if err != nil {
		t.Fatalf("New with loaded options: %v", err)
	}
	m.Close()

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("redis:\n  addrs: [\"127.0.0.1:7000\"]\nmigration:\n  queue_size: -3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadConfig(bad); err == nil || !strings.Contains(err.Error(), "migration.queue_size") {
		t.Fatalf("bad config: got %v, want an error naming migration.queue_size", err)
	}
}
