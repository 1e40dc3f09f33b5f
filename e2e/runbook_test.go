package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/migrate"
	"github.com/sessionmigrate/sessionmigrate/migrate/guard"
)

// runbookDir is where the runbooks are, from this package.
const runbookDir = "../runbooks"

// runbookOrder is the order TestRunbooks executes the runbooks in: the
// migration's, with the rollback and the incidents played at ramp 100
// before complete. Every runbook with a "console runbook" block must be
// listed (TestRunbooks fails otherwise).
var runbookOrder = []string{
	"README.md",
	"phases/preflight.md",
	"phases/shadow.md",
	"phases/dual.md",
	"phases/backfill-and-diff.md",
	"phases/ramp.md",
	"rollback.md",
	"incidents/control-plane-unreachable.md",
	"incidents/deploy-mid-migration.md",
	"incidents/guard-false-trip.md",
	"incidents/mismatch-spike.md",
	"incidents/repair-backlog.md",
	"incidents/sentinel-failover.md",
	"phases/complete.md",
	"phases/finish.md",
}

// runbookStep is one command of a runbook and what it must print.
type runbookStep struct {
	where string   // file:line
	block string   // the block's name (after "console runbook"), "" if none
	args  []string // the command's words, "migratectl" first
	want  []string // expected lines (whitespace collapsed), in order
	exit  int
}

// A runnable block is fenced "```console runbook [name]"; inside, "$ "
// starts a command and the lines up to the next command are what it
// prints, "(exit N)" its exit status when not 0.
var (
	fenceOpen = regexp.MustCompile("^```console runbook(?: ([a-z-]+))?$")
	exitLine  = regexp.MustCompile(`^\(exit (\d+)\)$`)
)

// parseRunbook returns the steps of the runnable blocks of one runbook.
func parseRunbook(path string) ([]runbookStep, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		steps   []runbookStep
		inBlock bool
		name    string
		cur     *runbookStep
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case !inBlock:
			if m := fenceOpen.FindStringSubmatch(line); m != nil {
				inBlock, name = true, m[1]
			}
		case line == "```":
			inBlock, cur = false, nil
		case strings.HasPrefix(line, "$ "):
			args, err := shellWords(line[2:])
			if err != nil || len(args) == 0 || args[0] != "migratectl" {
				return nil, fmt.Errorf("%s:%d: %q: a runnable command is one migratectl invocation (%v)", path, n, line, err)
			}
			steps = append(steps, runbookStep{where: fmt.Sprintf("%s:%d", path, n), block: name, args: args})
			cur = &steps[len(steps)-1]
		case cur == nil:
			return nil, fmt.Errorf("%s:%d: output before any command", path, n)
		case exitLine.MatchString(line):
			cur.exit, _ = strconv.Atoi(exitLine.FindStringSubmatch(line)[1])
		default:
			if l := collapse(line); l != "" {
				cur.want = append(cur.want, l)
			}
		}
	}
	if inBlock {
		return nil, fmt.Errorf("%s: unclosed runbook block", path)
	}
	return steps, sc.Err()
}

// shellWords splits a command line as a POSIX shell would for plain words
// and single- or double-quoted strings (no variables, no escapes but \"
// inside double quotes).
func shellWords(s string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		in    bool // inside a word
		quote byte
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote == '"' && c == '\\' && i+1 < len(s) && s[i+1] == '"':
			cur.WriteByte('"')
			i++
		case quote != 0:
			cur.WriteByte(c)
		case c == '"' || c == '\'':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				words, in = append(words, cur.String()), false
				cur.Reset()
			}
		case strings.IndexByte("$`|&;<>*?\\", c) >= 0:
			return nil, fmt.Errorf("shell syntax %q is not supported in a runnable command", c)
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if quote != 0 {
		return nil, errors.New("unterminated quote")
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

// collapse trims s and turns every run of white space into one space, so
// table padding does not matter.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// placeholder is how a runbook marks a value that differs from run to run.
var placeholder = regexp.MustCompile(`<[^<>]+>`)

// linePattern turns an expected line into a regexp: literal text, each
// placeholder matching any non-empty text.
func linePattern(want string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	last := 0
	for _, loc := range placeholder.FindAllStringIndex(want, -1) {
		b.WriteString(regexp.QuoteMeta(want[last:loc[0]]))
		b.WriteString(".+?")
		last = loc[1]
	}
	b.WriteString(regexp.QuoteMeta(want[last:]))
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// matchOutput checks that the expected lines appear in out, in order (other
// lines may come between), and returns the first that does not.
func matchOutput(want []string, out string) (missing string, ok bool) {
	var got []string
	for _, l := range strings.Split(out, "\n") {
		if l = collapse(l); l != "" {
			got = append(got, l)
		}
	}
	i := 0
	for _, w := range want {
		re := linePattern(w)
		for i < len(got) && !re.MatchString(got[i]) {
			i++
		}
		if i == len(got) {
			return w, false
		}
		i++
	}
	return "", true
}

// readOnly are the commands a runbook step may run again until they print
// what it shows, as an operator re-runs status until the fleet converged.
var readOnly = []string{"status", "instances", "history", "jobs", "preflight"}

// TestRunbooks runs every command the runbooks show, in the order of a
// migration, against three sessionapp instances on a real redis-server, and
// checks each exits and prints as its runbook says. A runbook that drifts
// from migratectl fails here.
func TestRunbooks(t *testing.T) {
	skipShort(t)
	start := time.Now()
	srv := redistest.StartServer(t)
	insts := startInstances(t, 3, srv.Addr, instanceConfig{})
	for _, in := range insts {
		login(t, in, 4)
	}
	ctl := controlReader(t, srv.Addr)
	hooks := map[string]func(t *testing.T){
		// What an instance's guard publishes when it trips (ControlPublisher).
		"guard-tripped": func(t *testing.T) {
			pub := migrate.ControlPublisher(ctl, insts[1].Name)
			rb := migrate.Rollback{Reason: string(guard.ReasonLatency), FromStage: migrate.Ramp, FromPercent: 100,
				Evidence: guard.Evidence{Reason: guard.ReasonLatency, At: time.Now(), Score: 5.2, Threshold: 5}}
			if _, err := pub.PublishRollback(context.Background(), rb); err != nil {
				t.Fatal(err)
			}
		},
		// finish.md: the application now runs plain scs.
		"instances-stopped": func(t *testing.T) {
			for _, in := range insts {
				if err := in.stop(); err != nil {
					t.Errorf("stopping %s: %v", in.Name, err)
				}
				in.killed = true // its exit is expected from now on
			}
		},
	}
	dir := t.TempDir() // files the commands write (--report, --audit-file)
	env := []string{"MIGRATECTL_REDIS_ADDR=" + srv.Addr}
	hooked := map[string]bool{}
	steps := 0
	for _, name := range runbookOrder {
		list, err := parseRunbook(filepath.Join(runbookDir, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range list {
			if h := hooks[st.block]; h != nil && !hooked[name+"#"+st.block] {
				hooked[name+"#"+st.block] = true
				h(t)
			}
			runStep(t, st, dir, env)
			steps++
			if t.Failed() {
				t.FailNow() // later steps assume this one's effect
			}
		}
	}
	checkEveryRunbookListed(t)
	t.Logf("%d runbook commands ran as written in %s", steps, time.Since(start).Round(time.Millisecond))
	if steps < 40 {
		t.Errorf("only %d runbook commands ran", steps)
	}
}

// runStep runs one step, again for a few seconds if it is read-only and
// does not print what the runbook shows yet.
func runStep(t *testing.T, st runbookStep, dir string, env []string) {
	t.Helper()
	retry := slices.Contains(readOnly, st.args[1])
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, code := runMigratectl(t, dir, env, st.args[1:])
		missing, ok := matchOutput(st.want, out)
		if ok && code == st.exit {
			return
		}
		if !retry || time.Now().After(deadline) {
			what := fmt.Sprintf("exit %d, want %d", code, st.exit)
			if !ok {
				what = fmt.Sprintf("no line matches %q (exit %d, want %d)", missing, code, st.exit)
			}
			t.Errorf("%s: %s: %s\noutput:\n%s", st.where, strings.Join(st.args, " "), what, out)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// runMigratectl runs the built migratectl in dir with env (and the test's
// environment less every MIGRATECTL_ variable), returning stdout and
// stderr interleaved as a terminal shows them, and the exit code.
func runMigratectl(t *testing.T, dir string, env, args []string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ctlTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bins.migratectl, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MIGRATECTL_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(append(cmd.Env, raceOptions()...), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case ctx.Err() != nil:
		t.Fatalf("migratectl %s: no exit within %s", strings.Join(args, " "), ctlTimeout)
	case errors.As(err, &ee):
		return out.String(), ee.ExitCode()
	default:
		t.Fatalf("migratectl %s: %v", strings.Join(args, " "), err)
	}
	return "", 0
}

// checkEveryRunbookListed fails when a runbook holds runnable blocks but is
// not in runbookOrder, so its commands would silently go untested.
func checkEveryRunbookListed(t *testing.T) {
	t.Helper()
	err := filepath.WalkDir(runbookDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".md") {
			return err
		}
		rel, _ := filepath.Rel(runbookDir, path)
		steps, err := parseRunbook(path)
		if err != nil {
			return err
		}
		if len(steps) > 0 && !slices.Contains(runbookOrder, filepath.ToSlash(rel)) {
			t.Errorf("%s has runnable blocks but is not in runbookOrder", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRunbookMatcher checks the matching rules on their own: placeholders,
// order, extra lines, white space.
func TestRunbookMatcher(t *testing.T) {
	out := "STAGE:    ramp 10%\nEPOCH:  7\nnoise\nINSTANCES:  3 live, 3 converged on epoch 7\n"
	for _, tc := range []struct {
		want []string
		ok   bool
	}{
		{[]string{"STAGE: ramp 10%", "INSTANCES: 3 live, 3 converged on epoch <epoch>"}, true},
		{[]string{"EPOCH: <n>", "STAGE: ramp 10%"}, false}, // order
		{[]string{"STAGE: ramp 1<n>"}, true},
		{[]string{"STAGE: ramp 25%"}, false},
		{[]string{"INSTANCES: 3 live"}, false}, // whole lines only
		{[]string{"EPOCH: <n>"}, true},
		{[]string{"EPOCH:"}, false}, // a placeholder needs text
	} {
		if _, ok := matchOutput(tc.want, out); ok != tc.ok {
			t.Errorf("matchOutput(%q): got %v, want %v", tc.want, ok, tc.ok)
		}
	}
	for in, want := range map[string][]string{
		`migratectl ramp 10 --reason "plan step 1: 10% (internal users)"`: {"migratectl", "ramp", "10", "--reason", "plan step 1: 10% (internal users)"},
		`migratectl resume --reason 'it''s fixed'`:                        {"migratectl", "resume", "--reason", "its fixed"},
	} {
		if got, err := shellWords(in); err != nil || !slices.Equal(got, want) {
			t.Errorf("shellWords(%q): got %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := shellWords(`migratectl status | grep x`); err == nil {
		t.Errorf("a pipe was accepted")
	}
}
