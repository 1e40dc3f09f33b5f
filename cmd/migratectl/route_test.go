package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
	"github.com/sessionmigrate/sessionmigrate/redact"
	"github.com/sessionmigrate/sessionmigrate/router"
)

// idWithBucket returns a session id whose bucket under salt is below cut
// (below true) or at or above it.
func idWithBucket(t *testing.T, salt string, cut uint32, below bool) string {
	t.Helper()
	for i := range 100000 {
		id := fmt.Sprintf("sess-%d-secretpart", i)
		if (router.Bucket(salt, id) < cut) == below {
			return id
		}
	}
	t.Fatal("no id found")
	return ""
}

func TestRoute(t *testing.T) {
	const salt = "sessionmigrate"
	low, high := idWithBucket(t, salt, 2500, true), idWithBucket(t, salt, 2500, false)
	tests := []struct {
		name    string
		stage   string
		percent float64
		id      string
		reads   string
		writes  []string
	}{
		{"local", "local", 0, low, "local", []string{"local"}},
		{"shadow", "shadow", 0, low, "local", []string{"local", "distributed-async"}},
		{"dual", "dual", 0, low, "local", []string{"local", "distributed"}},
		{"ramp routed", "ramp", 25, low, "distributed", []string{"local", "distributed"}},
		{"ramp not routed", "ramp", 25, high, "local", []string{"local", "distributed"}},
		{"complete", "complete", 100, high, "distributed", []string{"distributed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			if tt.stage != control.StageLocal {
				h.setState(tt.stage, tt.percent)
			}
			r := h.runWith(tt.id+"\n", nil, "route", "-", "-o", "json")
			if r.code != exitOK {
				t.Fatalf("%v", r)
			}
			if strings.Contains(r.stdout+r.stderr, tt.id) || strings.Contains(r.stdout+r.stderr, "secretpart") {
				t.Fatalf("output contains the session id:\n%v", r)
			}
			var v routeView
			decodeJSON(t, r, &v)
			wantCut, _ := router.Cut(tt.percent)
			if v.Session != redact.ID(salt, tt.id) || v.Bucket != router.Bucket(salt, tt.id) || v.Cut != wantCut ||
				v.Stage != tt.stage || v.Percent != tt.percent || v.ReadsFrom != tt.reads || strings.Join(v.WritesTo, ",") != strings.Join(tt.writes, ",") {
				t.Errorf("got %+v, want bucket %d reads %s writes %v", v, router.Bucket(salt, tt.id), tt.reads, tt.writes)
			}
		})
	}
}

func TestRouteNeverPrintsID(t *testing.T) {
	h := newHarness(t)
	h.setState(control.StageRamp, 50)
	const id = "Zm9vYmFyLXNlY3JldC1zZXNzaW9u"
	for _, o := range []string{"table", "json", "yaml"} {
		for _, r := range []result{
			h.runWith(id+"\n", nil, "route", "-", "-o", o),
			h.runWith("", nil, "route", id, "-o", o),
		} {
			if r.code != exitOK {
				t.Fatalf("-o %s: %v", o, r)
			}
			if strings.Contains(r.stdout+r.stderr, id) {
				t.Errorf("-o %s: output contains the id:\n%v", o, r)
			}
			if !strings.Contains(r.stdout, redact.ID("sessionmigrate", id)) {
				t.Errorf("-o %s: output lacks the redacted form %s:\n%s", o, redact.ID("sessionmigrate", id), r.stdout)
			}
		}
	}
}

func TestRouteSaltFromConfig(t *testing.T) {
	h := newHarness(t)
	h.env["MIGRATECTL_MIGRATION_SALT"] = "other"
	var v routeView
	decodeJSON(t, h.runWith("abc", nil, "route", "-", "-o", "json"), &v)
	if v.Bucket != router.Bucket("other", "abc") || v.Session != redact.ID("other", "abc") {
		t.Errorf("got %+v, want bucket and hash under salt \"other\"", v)
	}
}

func TestRouteBadStdin(t *testing.T) {
	tests := []struct {
		name, stdin, want string
	}{
		{"empty", "", "stdin holds no session id"},
		{"blank", " \n", "stdin holds no session id"},
		{"two lines", "secret-one\nsecret-two\n", "more than one line"},
		{"too long", strings.Repeat("x", maxIDBytes+1), "more than 4096 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			r := h.runWith(tt.stdin, nil, "route", "-")
			if r.code != exitUsage {
				t.Fatalf("exit: got %d, want %d\n%v", r.code, exitUsage, r)
			}
			oneLine(t, r, tt.want)
			if strings.Contains(r.stderr, "secret") {
				t.Errorf("stderr repeats the input: %q", r.stderr)
			}
		})
	}
}
