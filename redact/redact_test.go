package redact_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sessionmigrate/sessionmigrate/redact"
)

// TestID pins the redacted form: migratectl route, reports and logs of
// every version must agree on it, so it may never change. The vectors were
// computed independently (Python hmac, SHA-256), so the form matches what
// other tools print for the same session.
func TestID(t *testing.T) {
	tests := []struct{ key, id, want string }{
		{"k", "id", "h:9665816d47e3"},
		{"sessionmigrate", "abc", "h:098e2ba1c476"},
	}
	for _, tt := range tests {
		if got := redact.ID(tt.key, tt.id); got != tt.want {
			t.Errorf("ID(%q, %q): got %q, want %q", tt.key, tt.id, got, tt.want)
		}
	}
}

func TestHasherMatchesID(t *testing.T) {
	h := redact.NewHasher("salt")
	for _, id := range []string{"", "a", "abc", strings.Repeat("x", 200), "abc"} {
		if got, want := h.ID(id), redact.ID("salt", id); got != want {
			t.Errorf("Hasher.ID(%q): got %q, want %q", id, got, want)
		}
	}
	if redact.ID("a", "id") == redact.ID("b", "id") {
		t.Error("two keys give the same form")
	}
}

func TestIsID(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{redact.ID("k", "id"), true},
		{"h:0123456789ab", true},
		{"h:0123456789AB", false},
		{"h:0123456789a", false},
		{"h:0123456789abc", false},
		{"x:0123456789ab", false},
		{"secretsession", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := redact.IsID(tt.s); got != tt.want {
			t.Errorf("IsID(%q): got %v, want %v", tt.s, got, tt.want)
		}
	}
}

func TestText(t *testing.T) {
	got := redact.Text(`GET /x?sid=SECRET: SECRET refused`, "k", "SECRET")
	if strings.Contains(got, "SECRET") || strings.Count(got, redact.ID("k", "SECRET")) != 2 {
		t.Errorf("Text: got %q", got)
	}
	if got := redact.Text("plain", "k", ""); got != "plain" {
		t.Errorf("Text with an empty id: got %q, want the text unchanged", got)
	}
}

func ExampleID() {
	// A diff report, a log line and `migratectl route -` all show this
	// form; the id itself is never printed.
	fmt.Println(redact.ID("sessionmigrate", "abc"))
	// Output: h:098e2ba1c476
}

func BenchmarkHasherID(b *testing.B) {
	h := redact.NewHasher("sessionmigrate")
	id := strings.Repeat("s", 43)
	b.ReportAllocs()
	for b.Loop() {
		_ = h.ID(id)
	}
}
