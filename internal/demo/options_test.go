package demo

import (
	"strings"
	"testing"
	"time"
)

func TestOptionsDefaults(t *testing.T) {
	got, err := Options{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if got.Instances != DefaultInstances || got.Users != DefaultUsers || got.StepDuration != DefaultStepDuration ||
		got.Seed != DefaultSeed || got.Fault != FaultOutage || got.Logger == nil {
		t.Errorf("got %+v, want every default", got)
	}
}

func TestOptionsInvalid(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string // in the error
	}{
		{"negative instances", Options{Instances: -1}, "Instances"},
		{"too many instances", Options{Instances: MaxInstances + 1}, "Instances"},
		{"negative users", Options{Users: -3}, "Users"},
		{"too many users", Options{Users: MaxUsers + 1}, "Users"},
		{"negative step", Options{StepDuration: -time.Second}, "StepDuration"},
		{"both backends forced", Options{ForceMiniredis: true, ForceRealRedis: true}, "ForceMiniredis"},
		{"unknown fault", Options{Fault: "fire"}, "Fault"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.opts.withDefaults()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error naming %s", err, tt.want)
			}
		})
	}
}
