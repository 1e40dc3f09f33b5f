package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/config"
	"github.com/sessionmigrate/sessionmigrate/migrate"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

func TestLoadMigrator(t *testing.T) {
	file := writeFile(t, "cfg.yaml", `
redis:
  addrs: ["127.0.0.1:7000"]
store:
  prefix: "app:"
  legacy_sidecars: true
migration:
  salt: s1
  dist_timeout: 40ms
  queue_size: 99
  max_unsynced: 1234
guard:
  consecutive_failures: 5
`)
	t.Setenv("SESSIONMIGRATE_MIGRATION_SHADOW_SAMPLE", "7")
	opts, cfg, err := config.LoadMigrator(file)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Salt != "s1" || opts.DistTimeout != 40*time.Millisecond || opts.QueueSize != 99 || opts.ShadowSample != 7 ||
		opts.MaxUnsynced != 1234 || opts.Guard.ConsecutiveFailures != 5 || opts.DisableGuard {
		t.Fatalf("options: got %+v, want the file's and the environment's values", opts)
	}
	if cfg.Redis.Addrs[0] != "127.0.0.1:7000" {
		t.Fatalf("redis addrs: got %v, want [127.0.0.1:7000]", cfg.Redis.Addrs)
	}
	if so := cfg.StoreOptions(); so.Prefix != "app:" || !so.LegacySidecars || so.MaxTTL != 24*time.Hour || so.Timeout != time.Second {
		t.Fatalf("store options: got %+v, want prefix app:, legacy sidecars, the default max TTL and timeout", so)
	}
	l, d := memstore.New(), memstore.New()
	defer l.Close()
	defer d.Close()
	m, err := migrate.New(l, d, opts)
	if err != nil {
		t.Fatalf("New with loaded options: %v", err)
	}
	m.Close()

	bad := writeFile(t, "bad.yaml", "redis:\n  addrs: [\"127.0.0.1:7000\"]\nmigration:\n  queue_size: -3\n")
	if _, _, err := config.LoadMigrator(bad); err == nil || !strings.Contains(err.Error(), "migration.queue_size") {
		t.Fatalf("bad config: got %v, want an error naming migration.queue_size", err)
	}
}

// TestMaxUnsyncedAndLegacySidecarsFromEnv: both settings reach their
// options from SESSIONMIGRATE_* variables, and a bad value is refused
// naming its key.
func TestMaxUnsyncedAndLegacySidecarsFromEnv(t *testing.T) {
	c, err := config.Load(config.LoadOptions{LookupEnv: env(map[string]string{
		"SESSIONMIGRATE_REDIS_ADDR":              "127.0.0.1:7000",
		"SESSIONMIGRATE_MIGRATION_MAX_UNSYNCED":  "2000000",
		"SESSIONMIGRATE_STORE_LEGACY_SIDECARS":   "true",
		"SESSIONMIGRATE_MIGRATION_COMPARE_DELAY": "300ms",
	})})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := c.MigrateOptions(); got.MaxUnsynced != 2_000_000 || got.CompareDelay != 300*time.Millisecond {
		t.Errorf("MigrateOptions: got MaxUnsynced %d CompareDelay %v, want 2000000 and 300ms", got.MaxUnsynced, got.CompareDelay)
	}
	if got := c.StoreOptions(); !got.LegacySidecars {
		t.Errorf("StoreOptions: got LegacySidecars false, want true")
	}

	c, err = config.Load(config.LoadOptions{LookupEnv: env(map[string]string{"SESSIONMIGRATE_STORE_LEGACY_SIDECARS": "sometimes"})})
	if err == nil || !strings.Contains(err.Error(), "store.legacy_sidecars") {
		t.Fatalf("legacy_sidecars sometimes: got %v, want an error naming store.legacy_sidecars", err)
	}
}

// TestStoreOptionsDefaults: the store section's defaults are redisstore's.
func TestStoreOptionsDefaults(t *testing.T) {
	c := config.Default()
	got := c.StoreOptions()
	want := redisstore.Options{Prefix: redisstore.DefaultPrefix, MaxTTL: redisstore.DefaultMaxTTL, Timeout: redisstore.DefaultTimeout}
	if got.Prefix != want.Prefix || got.MaxTTL != want.MaxTTL || got.Timeout != want.Timeout || got.LegacySidecars {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
