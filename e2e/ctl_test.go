package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// ctlTimeout bounds one migratectl run.
const ctlTimeout = 30 * time.Second

// migratectl runs the migratectl binary with args and returns what it
// printed and its exit code. The environment is the test's minus every
// MIGRATECTL_* variable, so a developer's configuration cannot leak in. It
// fails t only when the binary cannot be run or exceeds ctlTimeout.
func migratectl(t *testing.T, args ...string) (stdout, stderr string, exit int) {
	t.Helper()
	return migratectlEnv(t, nil, args...)
}

// migratectlEnv is migratectl with extra environment variables
// ("MIGRATECTL_REDIS_PASSWORD=...").
func migratectlEnv(t *testing.T, env []string, args ...string) (stdout, stderr string, exit int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ctlTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bins.migratectl, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MIGRATECTL_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(append(cmd.Env, raceOptions()...), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		t.Fatalf("migratectl %s: no exit within %s\nstderr: %s", strings.Join(args, " "), ctlTimeout, errOut.String())
	case errors.As(err, &ee):
		return out.String(), errOut.String(), ee.ExitCode()
	default:
		t.Fatalf("migratectl %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), 0
}

// operator runs migratectl against one control plane, as an operator does.
type operator struct {
	t    *testing.T
	addr string   // the control plane's Redis
	args []string // extra global flags ("--redis-username", ...)
	env  []string // extra environment ("MIGRATECTL_REDIS_PASSWORD=...")
}

// run runs migratectl with args and --redis-addr, requires exit 0 and
// returns stdout.
func (o operator) run(args ...string) string {
	o.t.Helper()
	args = append(append(args, "--redis-addr", o.addr, "--actor", "e2e"), o.args...)
	out, errOut, code := migratectlEnv(o.t, o.env, args...)
	if code != 0 {
		o.t.Fatalf("migratectl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// fails runs migratectl with args and --redis-addr and requires it to exit
// with code (1 error, 2 usage, 3 refused) and an error message on stderr.
func (o operator) fails(code int, args ...string) {
	o.t.Helper()
	args = append(append(args, "--redis-addr", o.addr, "--actor", "e2e"), o.args...)
	out, errOut, got := migratectlEnv(o.t, o.env, args...)
	if got != code || !strings.HasPrefix(errOut, "migratectl: ") {
		o.t.Errorf("migratectl %s: got exit %d, stderr %q; want exit %d with a message\nstdout: %s", strings.Join(args, " "), got, errOut, code, out)
	}
}

// json runs migratectl with args and -o json, requires exit 0 and decodes
// stdout into v.
func (o operator) json(v any, args ...string) {
	o.t.Helper()
	out := o.run(append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		o.t.Fatalf("migratectl %s -o json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// change runs a state-changing command (stage, ramp, rollback, resume)
// with -o json and returns the state it wrote.
func (o operator) change(args ...string) ctlState {
	o.t.Helper()
	var v struct {
		Changed bool     `json:"changed"`
		To      ctlState `json:"to"`
	}
	full := append(append(args, "-o", "json", "--redis-addr", o.addr, "--actor", "e2e"), o.args...)
	var out string
	// A ramp is refused while an instance's guard has paused it: the
	// operator waits for that guard to calm down, as the refusal says.
	// Under load (the suite passes beside CPU-bound loops) a slow moment
	// of redis-server does pause a guard now and then.
	err := poll(pausedBound, func(context.Context) error {
		stdout, errOut, code := migratectlEnv(o.t, o.env, full...)
		switch {
		case code == exitOK:
			out = stdout
			return nil
		case code == exitRefused && strings.Contains(errOut, "(guard paused)"):
			time.Sleep(250 * time.Millisecond) // not a busy loop of processes
			return fmt.Errorf("refused: %s", strings.TrimSpace(errOut))
		}
		o.t.Fatalf("migratectl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(full, " "), code, stdout, errOut)
		return nil
	})
	if err != nil {
		o.t.Fatalf("migratectl %s: %v", strings.Join(full, " "), err)
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		o.t.Fatalf("migratectl %s: %v\n%s", strings.Join(full, " "), err, out)
	}
	if !v.Changed {
		o.t.Fatalf("migratectl %s: nothing changed (state %s)", strings.Join(args, " "), v.To)
	}
	return v.To
}

// pausedBound is how long operator.change waits for paused guards to calm
// down before it fails.
const pausedBound = 30 * time.Second

// status runs `migratectl status -o json`.
func (o operator) status() ctlStatus {
	o.t.Helper()
	var v ctlStatus
	o.json(&v, "status")
	return v
}

// history runs `migratectl history -n n -o json`.
func (o operator) history(n int) []ctlHistoryEntry {
	o.t.Helper()
	var v struct {
		Entries []ctlHistoryEntry `json:"entries"`
	}
	o.json(&v, "history", "-n", strconv.Itoa(n))
	return v.Entries
}

// The types below hold the parts of migratectl's JSON output the tests
// check; field names are its documented interface.

type ctlState struct {
	Stage    string     `json:"stage"`
	Percent  float64    `json:"percent"`
	Epoch    uint64     `json:"epoch"`
	Actor    string     `json:"actor"`
	Reason   string     `json:"reason"`
	Time     *time.Time `json:"time"`
	Tripped  bool       `json:"tripped"`
	Rollback *struct {
		Automatic   bool       `json:"automatic"`
		Signal      string     `json:"signal"`
		Reason      string     `json:"reason"`
		Instance    string     `json:"instance"`
		FromStage   string     `json:"from_stage"`
		FromPercent float64    `json:"from_percent"`
		At          *time.Time `json:"at"`
	} `json:"rollback"`
}

func (s ctlState) String() string {
	out := control.State{Stage: s.Stage, Percent: s.Percent, Epoch: s.Epoch}.String()
	if s.Tripped {
		out += " rolled back"
	}
	return out
}

type ctlInstance struct {
	ID           string  `json:"id"`
	Stage        string  `json:"stage"`
	Percent      float64 `json:"percent"`
	Epoch        uint64  `json:"epoch"`
	Converged    bool    `json:"converged"`
	GuardTripped bool    `json:"guard_tripped"`
}

type ctlStatus struct {
	State     ctlState      `json:"state"`
	Instances []ctlInstance `json:"instances"`
	Converged bool          `json:"converged"`
}

type ctlHistoryEntry struct {
	Kind  string   `json:"kind"`
	Epoch uint64   `json:"epoch"`
	State ctlState `json:"state"`
	Force bool     `json:"force"`
	Job   *struct {
		ID     string `json:"id"`
		Kind   string `json:"kind"`
		Event  string `json:"event"`
		Status string `json:"status"`
		Reason string `json:"reason"`
	} `json:"job"`
}

// ctlJob holds the parts of a job (jobs show, --wait -o json) the tests
// check.
type ctlJob struct {
	ID       string   `json:"id"`
	Kind     string   `json:"kind"`
	Status   string   `json:"status"`
	Message  string   `json:"message"`
	Left     []string `json:"left"`
	ExitCode int      `json:"exit_code"`
	Parts    []struct {
		Instance string `json:"instance"`
		Phase    string `json:"phase"`
		Done     int64  `json:"done"`
		Total    int64  `json:"total"`
	} `json:"parts"`
	Result json.RawMessage `json:"result"`
}

// job runs a job command (diff, backfill, repair with --wait, or jobs
// show) with -o json, requires exit code and returns the job printed.
//
// A diff or repair whose lead lost its lease between its scan for extras
// and the confirmation ends failed and says to run it again: the lead's
// process was starved for longer than its lease (3 s), which a CI machine
// under load can do. job runs such a job again, as the runbooks tell an
// operator to, at most maxJobRuns times in all; any other outcome counts.
func (o operator) job(code int, args ...string) ctlJob {
	o.t.Helper()
	args = append(append(args, "-o", "json", "--redis-addr", o.addr, "--actor", "e2e"), o.args...)
	for run := 1; ; run++ {
		out, errOut, got := migratectlEnv(o.t, o.env, args...)
		var j ctlJob
		jerr := json.Unmarshal([]byte(out), &j)
		if got != code && jerr == nil && run < maxJobRuns && leadChanged(args[0], j) {
			o.t.Logf("migratectl %s: job %s %s (%s); running it again", args[0], j.ID, j.Status, j.Message)
			continue
		}
		if got != code {
			o.t.Fatalf("migratectl %s: got exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), got, code, out, errOut)
		}
		if jerr != nil {
			o.t.Fatalf("migratectl %s -o json: %v\n%s", strings.Join(args, " "), jerr, out)
		}
		return j
	}
}

// maxJobRuns bounds how often operator.job runs one job command.
const maxJobRuns = 3

// leadChanged reports whether j, started by migratectl cmd, is a diff or
// repair that failed because its lead changed mid-job (migrate's diffLead
// says so in the job's message).
func leadChanged(cmd string, j ctlJob) bool {
	return (cmd == "diff" || cmd == "repair") && j.Status == "failed" &&
		strings.Contains(j.Message, "the lead changed between the scan for extras and its confirmation")
}

// controlReader returns a control-plane client over addr for reading the
// state and history as the instances see them; the tests drive the state
// with migratectl only.
func controlReader(t *testing.T, addr string) *control.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { rdb.Close() })
	c, err := control.New(rdb, control.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestLeadChangedMatchesMigrate keeps leadChanged in step with the message
// migrate's diff lead ends such a job with: if that text changes, the
// retry would silently stop matching and load could fail the scenarios
// again.
func TestLeadChangedMatchesMigrate(t *testing.T) {
	src, err := os.ReadFile("../migrate/jobdiff.go")
	if err != nil {
		t.Fatal(err)
	}
	const msg = "the lead changed between the scan for extras and its confirmation"
	if !bytes.Contains(src, []byte(msg)) {
		t.Fatalf("migrate/jobdiff.go no longer says %q; update leadChanged", msg)
	}
	for _, tc := range []struct {
		cmd  string
		j    ctlJob
		want bool
	}{
		{"diff", ctlJob{Status: "failed", Message: msg + "; diff again"}, true},
		{"repair", ctlJob{Status: "failed", Message: msg + "; diff again"}, true},
		{"backfill", ctlJob{Status: "failed", Message: msg + "; diff again"}, false},
		{"diff", ctlJob{Status: "partial", Message: msg}, false},
		{"diff", ctlJob{Status: "failed", Message: "instance x left mid-job"}, false},
	} {
		if got := leadChanged(tc.cmd, tc.j); got != tc.want {
			t.Errorf("leadChanged(%q, %+v) = %v, want %v", tc.cmd, tc.j, got, tc.want)
		}
	}
}
