package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/internal/vuser"
)

// stepNames returns the steps Run must narrate with fault f, in order.
func stepNames(f Fault) []string {
	return []string{"local", "shadow", "dual", "backfill", "ramp 10%", "ramp 50%",
		f.stepName(), "heal+resume", "ramp 100%", "complete", "no lock-in"}
}

// sessionIDLike matches a token shaped like a session id (32 random bytes,
// base64url): none may appear in the output.
var sessionIDLike = regexp.MustCompile(`[A-Za-z0-9_-]{43}`)

func requireRedisServer(t *testing.T) {
	t.Helper()
	if _, err := redistest.Binary(); err != nil {
		t.Skip(err)
	}
}

// checkCleanRun asserts that out narrates every step with zero bad
// counters and ends with the summary and PASS.
func checkCleanRun(t *testing.T, out string, f Fault) {
	t.Helper()
	lines := strings.Split(out, "\n")
	var prevRequests int
	for i, name := range stepNames(f) {
		prefix := fmt.Sprintf("%-2d %-12s ", i+1, name)
		row := ""
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				row = l
				break
			}
		}
		if row == "" {
			t.Errorf("step %d %q: no step line starting %q", i+1, name, prefix)
			continue
		}
		f := strings.Fields(row)
		if got := f[len(f)-4:]; strings.Join(got, " ") != "0 0 0 0" {
			t.Errorf("step %q: bad counters: got %v, want 0 0 0 0", name, got)
		}
		var requests int
		if _, err := fmt.Sscan(strings.ReplaceAll(f[len(f)-5], ",", ""), &requests); err != nil {
			t.Errorf("step %q: requests column %q: %v", name, f[len(f)-5], err)
		}
		if name != "no lock-in" && requests <= prevRequests {
			t.Errorf("step %q: requests so far: got %d, want more than %d (the load must run during every step)", name, requests, prevRequests)
		}
		prevRequests = requests
	}
	total := ""
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "total ") {
			total = l
		}
	}
	if f := strings.Fields(total); len(f) < 4 || strings.Join(f[len(f)-4:], " ") != "0 0 0 0" {
		t.Errorf("summary total row: got %q, want it to end in 0 0 0 0", total)
	}
	for _, want := range []string{"Summary", "PASS:", "guards of 3/3", "guard@app-", "allows complete"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if m := sessionIDLike.FindString(out); m != "" {
		t.Errorf("output contains a token shaped like a session id: %q", m)
	}
}

func TestRunRealRedis(t *testing.T) {
	requireRedisServer(t)
	for _, f := range []Fault{FaultOutage, FaultLatency} {
		t.Run(string(f), func(t *testing.T) {
			var out bytes.Buffer
			start := time.Now()
			err := Run(t.Context(), &out, Options{StepDuration: 250 * time.Millisecond, Users: 3, ForceRealRedis: true, Seed: 7, Fault: f})
			took := time.Since(start)
			if err != nil {
				t.Fatalf("Run: got %v, want nil; output:\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), "redis-server ") {
				t.Errorf("output does not say a real redis-server is used")
			}
			checkCleanRun(t, out.String(), f)
			checkWidth(t, out.String())
			if t.Failed() || testing.Verbose() {
				t.Logf("Run took %v; output:\n%s", took, out.String())
			}
		})
	}
}

// TestRunMiniredis runs the whole demo on the embedded Redis
// (internal/embedredis), which is what a newcomer without redis-server
// gets: it must pass as on redis-server, with every check as exact.
func TestRunMiniredis(t *testing.T) {
	var out bytes.Buffer
	err := Run(t.Context(), &out, Options{StepDuration: 250 * time.Millisecond, Users: 3, ForceMiniredis: true})
	if err != nil {
		t.Fatalf("Run on the embedded Redis: got %v, want nil; output:\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "embedded miniredis") {
		t.Errorf("output does not say the embedded Redis is used")
	}
	checkCleanRun(t, out.String(), FaultOutage)
	if t.Failed() {
		t.Logf("output:\n%s", out.String())
	}
}

func TestRunStopsWhenContextEnds(t *testing.T) {
	requireRedisServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := Run(ctx, &bytes.Buffer{}, Options{StepDuration: 10 * time.Second, ForceRealRedis: true})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want an error wrapping context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Run returned %v after its context ended, want promptly", took)
	}
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("terminal gone") }

func TestRunReportsInvalidOptionsBeforeStarting(t *testing.T) {
	err := Run(t.Context(), failingWriter{}, Options{Instances: -1})
	if err == nil || !strings.Contains(err.Error(), "Instances") {
		t.Fatalf("got %v, want an error naming Instances", err)
	}
}

// checkWidth asserts that the narration fits a 100-column terminal.
func checkWidth(t *testing.T, out string) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if n := len([]rune(l)); n > 100 {
			t.Errorf("line of %d columns, want at most 100: %q", n, l)
		}
	}
}

// TestJudgeFailsOnAnyBrokenPromise: the final check returns
// ErrInvariant, and prints FAIL with the problems, when any one counter is
// not zero.
func TestJudgeFailsOnAnyBrokenPromise(t *testing.T) {
	tests := []struct {
		name    string
		breakIt func(r *runner, total *vuser.Result)
		want    string // in the error; "" for success
	}{
		{"all zero", func(*runner, *vuser.Result) {}, ""},
		{"failed request", func(_ *runner, t *vuser.Result) { t.Failed = 1 }, "1 failed requests"},
		{"wrong answer", func(_ *runner, t *vuser.Result) { t.Anomalies = 1 }, "1 failed requests"},
		{"logout", func(_ *runner, t *vuser.Result) { t.Logouts = 1 }, "1 users logged out"},
		{"lost write", func(_ *runner, t *vuser.Result) { t.LostWrites = 1 }, "1 lost writes"},
		{"resurrection", func(_ *runner, t *vuser.Result) { t.Resurrections = 1 }, "1 resurrected sessions"},
		{"not in Redis", func(r *runner, _ *vuser.Result) { r.lockIn.users = 1 }, "1 sessions not in Redis as written"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			r := &runner{p: &printer{w: &out}, start: time.Now()}
			var total vuser.Result
			tt.breakIt(r, &total)
			err := r.judge(total)
			if tt.want == "" {
				if err != nil || !strings.Contains(out.String(), "PASS:") {
					t.Errorf("got %v and output %q, want nil and PASS", err, out.String())
				}
				return
			}
			if !errors.Is(err, ErrInvariant) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want ErrInvariant mentioning %q", err, tt.want)
			}
			if !strings.Contains(out.String(), "FAIL: "+tt.want) {
				t.Errorf("output %q lacks %q", out.String(), "FAIL: "+tt.want)
			}
		})
	}
}
