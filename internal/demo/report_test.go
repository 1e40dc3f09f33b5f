package demo

import (
	"testing"
	"time"
)

func TestThousands(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0"}, {7, "7"}, {999, "999"}, {1000, "1,000"}, {12345, "12,345"},
		{1234567, "1,234,567"}, {-1234, "-1,234"},
	}
	for _, tt := range tests {
		if got := thousands(tt.in); got != tt.want {
			t.Errorf("thousands(%d): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLatency(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "-"}, {850 * time.Microsecond, "850µs"}, {2500 * time.Microsecond, "2.5ms"},
		{42 * time.Millisecond, "42ms"}, {1500 * time.Millisecond, "1.5s"},
	}
	for _, tt := range tests {
		if got := latency(tt.in); got != tt.want {
			t.Errorf("latency(%v): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		stage   string
		percent float64
		epoch   uint64
		tripped bool
		want    string
	}{
		{"local", 0, 0, false, "local e0"},
		{"ramp", 12.5, 4, false, "ramp 12.5% e4"},
		{"shadow", 0, 6, true, "shadow e6 rolled back"},
		{"complete", 100, 9, false, "complete e9"},
	}
	for _, tt := range tests {
		if got := describe(tt.stage, tt.percent, tt.epoch, tt.tripped); got != tt.want {
			t.Errorf("describe(%s, %g, %d, %v): got %q, want %q", tt.stage, tt.percent, tt.epoch, tt.tripped, got, tt.want)
		}
	}
}
