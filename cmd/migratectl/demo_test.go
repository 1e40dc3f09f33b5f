package main

import (
	"strings"
	"testing"
)

func TestDemo(t *testing.T) {
	h := newHarness(t)
	if r := h.run("demo", "--fault", "bogus"); r.code != exitUsage {
		t.Fatalf("demo --fault bogus: got exit %d, want %d\n%v", r.code, exitUsage, r)
	}
	if testing.Short() {
		t.Skip("the demo run takes a few seconds")
	}
	r := h.run("demo", "--embedded", "--step", "150ms", "--users", "2")
	if r.code != exitOK {
		t.Fatalf("demo: got exit %d, want 0\n%v", r.code, r)
	}
	if !strings.Contains(r.stdout, "PASS:") || !strings.Contains(r.stdout, "embedded miniredis") {
		t.Fatalf("demo output lacks the embedded backend or the PASS line:\n%s", r.stdout)
	}
}
