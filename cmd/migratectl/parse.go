package main

import (
	"math"
	"strconv"
	"strings"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// parseStage returns the stage named s (case and surrounding space
// ignored) or a usage error naming the allowed values.
func parseStage(s string) (string, error) {
	st := strings.ToLower(strings.TrimSpace(s))
	if !control.ValidStage(st) {
		return "", usagef("unknown stage %q: allowed %s", s, strings.Join(control.Stages(), ", "))
	}
	return st, nil
}

// parsePercent parses a ramp percentage: a plain decimal number from 0 to
// 100 with at most two decimals, optionally followed by '%'. Every other
// input is a usage error saying what is wrong.
func parsePercent(s string) (float64, error) {
	t := strings.TrimSuffix(strings.TrimSpace(s), "%")
	p, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(p) || math.IsInf(p, 0) || !plainDecimal(t) {
		return 0, usagef("percent %q is not a number: want 0-100 with at most 2 decimals, e.g. 12.5", s)
	}
	if p < 0 || p > 100 {
		return 0, usagef("percent %s is outside 0-100", t)
	}
	if _, frac, ok := strings.Cut(t, "."); ok && len(strings.TrimRight(frac, "0")) > 2 {
		return 0, usagef("percent %s has more than 2 decimals: the resolution is 0.01%%", t)
	}
	return p, nil
}

// plainDecimal reports whether s is an optional sign, digits and at most
// one decimal point: no exponent, hex, underscores or words ("Inf").
func plainDecimal(s string) bool {
	s = strings.TrimLeft(s, "+-")
	digits, dots := 0, 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}

// reasonRequired returns the --reason value, or a usage error when it is
// missing: every change is recorded with why it was made.
func reasonRequired(reason string) (string, error) {
	r := strings.TrimSpace(reason)
	if r == "" {
		return "", usagef(`--reason is required for changes: say why, it is recorded in the audit log (e.g. --reason "diff clean, ramping")`)
	}
	return r, nil
}
