package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestConfigValidate(t *testing.T) {
	h := newHarness(t)
	h.env["MIGRATECTL_REDIS_PASSWORD"] = "hunter2"
	r := h.ok("config", "validate")
	if !strings.HasPrefix(r.stdout, "configuration is valid\n") {
		t.Errorf("got %q", r.stdout)
	}
	for _, o := range []string{"yaml", "json"} {
		r := h.ok("config", "validate", "-o", o)
		if strings.Contains(r.stdout, "hunter2") {
			t.Errorf("-o %s prints the password:\n%s", o, r.stdout)
		}
		var m map[string]map[string]any
		if err := yaml.Unmarshal([]byte(r.stdout), &m); err != nil { // JSON is YAML
			t.Fatalf("-o %s: %v", o, err)
		}
		if m["redis"]["password"] != "REDACTED" || m["control"]["prefix"] != h.prefix || m["redis"]["dial_timeout"] != "2s" {
			t.Errorf("-o %s: got redis %v control %v", o, m["redis"], m["control"])
		}
	}
}

func TestConfigValidateFileAndFlags(t *testing.T) {
	h := newHarness(t)
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("control:\n  prefix: fromfile\nmigration:\n  salt: s1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	delete(h.env, "MIGRATECTL_CONTROL_PREFIX")
	var m map[string]map[string]any
	r := h.ok("--config", file, "config", "validate", "-o", "yaml")
	if err := yaml.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatal(err)
	}
	if m["control"]["prefix"] != "fromfile" || m["migration"]["salt"] != "s1" {
		t.Errorf("file values: got %v %v", m["control"], m["migration"])
	}
	// The flag beats the file; MIGRATECTL_CONFIG names the file.
	h.env["MIGRATECTL_CONFIG"] = file
	r = h.ok("config", "validate", "-o", "yaml", "--prefix", "fromflag")
	if err := yaml.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatal(err)
	}
	if m["control"]["prefix"] != "fromflag" || m["migration"]["salt"] != "s1" {
		t.Errorf("flag over file: got %v %v", m["control"], m["migration"])
	}
}

func TestConfigValidateReportsAll(t *testing.T) {
	h := newHarness(t)
	delete(h.env, "MIGRATECTL_REDIS_ADDR")
	h.env["MIGRATECTL_GUARD_AVAILABILITY"] = "99.9"
	r := h.run("config", "validate", "--redis-password-file", "/nonexistent/pw")
	if r.code != exitUsage {
		t.Fatalf("exit: got %d, want %d\n%v", r.code, exitUsage, r)
	}
	for _, want := range []string{"redis.addrs: must not be empty", "guard.availability: 99.9 outside (0, 1)", "redis.password_file: cannot read"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if r.stdout != "" {
		t.Errorf("stdout: got %q, want nothing", r.stdout)
	}
}

func TestConfigUnreadableFile(t *testing.T) {
	h := newHarness(t)
	r := h.run("--config", "/nonexistent/c.yaml", "status")
	if r.code != exitUsage {
		t.Fatalf("exit: got %d, want %d\n%v", r.code, exitUsage, r)
	}
	oneLine(t, r, "/nonexistent/c.yaml")
}
