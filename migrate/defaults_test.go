package migrate_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/config"
	"github.com/sessionmigrate/sessionmigrate/consistency"
	"github.com/sessionmigrate/sessionmigrate/migrate"
	"github.com/sessionmigrate/sessionmigrate/migrate/guard"
	"github.com/sessionmigrate/sessionmigrate/router"
)

// TestConfigDefaultsAreOptionsDefaults: a configuration file that sets
// nothing gives the Migrator exactly what Options{} gives it, once New has
// applied its defaults (and the guard its own). The comparison walks every
// field by reflection, so a field added to Options (or guard.Settings)
// without its configuration key's default is caught.
func TestConfigDefaultsAreOptionsDefaults(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty.yaml")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	sources := []struct {
		name string
		cfg  func() (*config.Config, error)
	}{
		{"config.Default()", func() (*config.Config, error) { c := config.Default(); return &c, nil }},
		{"an empty file", func() (*config.Config, error) {
			return config.Load(config.LoadOptions{File: empty, LookupEnv: func(string) (string, bool) { return "", false }})
		}},
	}
	want := resolve(t, migrate.Options{})
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			cfg, err := src.cfg()
			if err != nil {
				t.Fatal(err)
			}
			raw := cfg.MigrateOptions()
			// The injected parts are the application's: the configuration
			// leaves them unset, as Options{} does.
			for _, d := range diff("Options", reflect.ValueOf(raw), reflect.ValueOf(migrate.Options{}), injectedOnly) {
				t.Errorf("unresolved: %s", d)
			}
			for _, d := range diff("Options", reflect.ValueOf(resolve(t, raw)), reflect.ValueOf(want), everything) {
				t.Errorf("resolved: %s", d)
			}
		})
	}
}

// TestCompareDelayFollowsDistTimeout: migration.compare_delay left at its
// default follows migration.dist_timeout, as Options.CompareDelay does, so
// raising the timeout alone keeps the re-check after it; and the
// consistency package's own default delay is above the router's default
// timeout.
func TestCompareDelayFollowsDistTimeout(t *testing.T) {
	c := config.Default()
	c.Redis.Addrs = []string{"127.0.0.1:6379"}
	c.Migration.DistTimeout = 400 * time.Millisecond
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := resolve(t, c.MigrateOptions()).CompareDelay; got != 850*time.Millisecond {
		t.Errorf("dist_timeout 400ms: CompareDelay %v, want 850ms (2 × 400ms + 50ms)", got)
	}
	def := resolve(t, migrate.Options{})
	if def.CompareDelay <= def.DistTimeout || consistency.DefaultDelay <= router.DefaultDistTimeout {
		t.Errorf("defaults: CompareDelay %v, consistency.DefaultDelay %v, want both above DistTimeout %v",
			def.CompareDelay, consistency.DefaultDelay, def.DistTimeout)
	}
	if def.CompareDelay != consistency.DefaultDelay {
		t.Errorf("default CompareDelay %v, consistency.DefaultDelay %v: want the same", def.CompareDelay, consistency.DefaultDelay)
	}
}

// resolve applies New's defaults to o, and the guard's to o.Guard.
func resolve(t *testing.T, o migrate.Options) migrate.Options {
	t.Helper()
	o, err := migrate.ResolveOptions(o)
	if err != nil {
		t.Fatal(err)
	}
	g, err := guard.New(o.Guard)
	if err != nil {
		t.Fatal(err)
	}
	o.Guard = g.Settings()
	return o
}

type diffMode int

const (
	everything   diffMode = iota // values equal; functions, pointers and interfaces both nil or both set
	injectedOnly                 // functions, pointers and interfaces both nil or both set; values ignored
)

// diff lists the fields of got and want (same type) that differ.
func diff(path string, got, want reflect.Value, mode diffMode) []string {
	switch got.Kind() {
	case reflect.Func, reflect.Pointer, reflect.Interface, reflect.Chan:
		if got.IsNil() != want.IsNil() {
			return []string{fmt.Sprintf("%s: set %v, want set %v", path, !got.IsNil(), !want.IsNil())}
		}
		return nil
	case reflect.Struct:
		if exportedOnly(got.Type()) {
			var out []string
			for i := range got.NumField() {
				name := got.Type().Field(i).Name
				out = append(out, diff(path+"."+name, got.Field(i), want.Field(i), mode)...)
			}
			return out
		}
	}
	if mode == everything && !reflect.DeepEqual(got.Interface(), want.Interface()) {
		return []string{fmt.Sprintf("%s: got %v, want %v", path, got.Interface(), want.Interface())}
	}
	return nil
}

// exportedOnly reports whether every field of the struct type t is
// exported, so diff can walk into it; other structs (openfeature's
// evaluation context) are compared whole.
func exportedOnly(t reflect.Type) bool {
	for i := range t.NumField() {
		if !t.Field(i).IsExported() {
			return false
		}
	}
	return true
}
