package config_test

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sessionmigrate/sessionmigrate/config"
)

func TestRedacted(t *testing.T) {
	c := valid()
	c.Redis.Password = "hunter2"
	r := c.Redacted()
	if r.Redis.Password != config.RedactedValue {
		t.Errorf("password: got %q, want %q", r.Redis.Password, config.RedactedValue)
	}
	if c.Redis.Password != "hunter2" {
		t.Errorf("Redacted changed the original: password %q", c.Redis.Password)
	}
	r.Redis.Addrs[0] = "changed:1"
	if c.Redis.Addrs[0] == "changed:1" {
		t.Error("Redacted shares the address slice with the original")
	}
	b, err := yaml.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "hunter2") {
		t.Errorf("redacted YAML holds the password:\n%s", b)
	}
	// No password: nothing to redact, and the key is left out.
	plain := valid()
	if got := plain.Redacted(); got.Redis.Password != "" {
		t.Errorf("empty password redacted to %q, want empty", got.Redis.Password)
	}
}

// TestRedactedYAMLLoads checks that the printed form of a configuration is
// itself a valid configuration file with the same values.
func TestRedactedYAMLLoads(t *testing.T) {
	c := valid()
	c.Guard.ErrorRate = 0.02
	b, err := yaml.Marshal(c.Redacted())
	if err != nil {
		t.Fatal(err)
	}
	got, err := config.Load(config.LoadOptions{File: writeFile(t, "c.yaml", string(b)), LookupEnv: env(nil)})
	if err != nil {
		t.Fatalf("Load(printed config): %v\n%s", err, b)
	}
	if got.Guard.ErrorRate != 0.02 || got.Redis.Addrs[0] != "127.0.0.1:6380" || got.Store.MaxTTL != c.Store.MaxTTL {
		t.Errorf("round trip: got %+v, want %+v", got, c)
	}
}
