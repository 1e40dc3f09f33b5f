package redact_test

import (
	"testing"

	"github.com/sessionmigrate/sessionmigrate/redact"
)

func TestSaltID(t *testing.T) {
	a, b := redact.SaltID("s1"), redact.SaltID("s2")
	if !redact.IsID(a) || !redact.IsID(b) {
		t.Fatalf("got %q and %q, want redacted-id forms", a, b)
	}
	if a == b {
		t.Errorf("two salts got one id %q", a)
	}
	if a != redact.SaltID("s1") {
		t.Errorf("SaltID is not deterministic")
	}
	if a == redact.ID("s1", "s1") || a == redact.ID("", "s1") {
		t.Errorf("SaltID(%q) = %q equals a redacted session id", "s1", a)
	}
}
