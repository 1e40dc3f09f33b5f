package main

import (
	"runtime"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	h := newHarness(t)
	r := h.ok("version")
	if !strings.HasPrefix(r.stdout, "migratectl ") || !strings.Contains(r.stdout, runtime.Version()) {
		t.Errorf("got %q", r.stdout)
	}
	var v versionView
	decodeJSON(t, h.ok("version", "-o", "json"), &v)
	if v.Version == "" || v.GoVersion != runtime.Version() {
		t.Errorf("got %+v", v)
	}
	// version works whatever the configuration.
	h.env["MIGRATECTL_GUARD_ERROR_RATE"] = "7"
	delete(h.env, "MIGRATECTL_REDIS_ADDR")
	h.ok("version")
}

func TestBuildVersion(t *testing.T) {
	if v := buildVersion("v1.2.3"); v.Version != "v1.2.3" {
		t.Errorf("release version: got %q, want v1.2.3", v.Version)
	}
	if v := buildVersion(""); v.Version == "" {
		t.Error("no release version: got empty, want the module version or (devel)")
	}
}
