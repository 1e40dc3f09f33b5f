package main

import (
	"testing"

	"github.com/sessionmigrate/sessionmigrate/router"
)

func TestParsePercent(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"0", 0, true}, {"100", 100, true}, {"12.5", 12.5, true}, {"12.5%", 12.5, true}, {"0.01", 0.01, true},
		{"12.50", 12.5, true}, {"12.500", 12.5, true}, {" 7 ", 7, true}, {"+5", 5, true},
		{"100.01", 0, false}, {"-0.5", 0, false}, {"0.001", 0, false}, {"abc", 0, false}, {"", 0, false},
		{"1e1", 0, false}, {"Inf", 0, false}, {"NaN", 0, false}, {"0x10", 0, false}, {"1_0", 0, false}, {"1.2.3", 0, false}, {".", 0, false},
	}
	for _, tt := range tests {
		got, err := parsePercent(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parsePercent(%q): got %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseStage(t *testing.T) {
	for in, want := range map[string]string{"local": "local", "Shadow": "shadow", " ramp ": "ramp", "COMPLETE": "complete"} {
		if got, err := parseStage(in); err != nil || got != want {
			t.Errorf("parseStage(%q): got %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := parseStage("warp"); err == nil {
		t.Error(`parseStage("warp"): got nil error`)
	}
}

// FuzzParsePercent checks that every accepted percentage is one the
// router and the control plane accept too.
func FuzzParsePercent(f *testing.F) {
	for _, s := range []string{"0", "100", "12.5", "12.5%", "0.01", "1e1", "-1", "100.001", "NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePercent(s)
		if err != nil {
			return
		}
		if _, err := router.Cut(p); err != nil {
			t.Errorf("parsePercent(%q) = %v, which router.Cut refuses: %v", s, p, err)
		}
	})
}
