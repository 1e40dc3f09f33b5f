package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// bins holds the paths of the binaries TestMain built.
var bins struct {
	sessionapp, migratectl string
}

// raceEnv, when "1", builds the binaries with the race detector. It is off
// by default: three race-instrumented instances under load on a two-core CI
// machine distort the latencies the guard and the propagation test measure.
const raceEnv = "SESSIONMIGRATE_E2E_RACE"

func TestMain(m *testing.M) {
	flag.Parse()
	code := run(m)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// run builds the binaries (unless -short, which runs only the tests that
// need none) and runs the tests.
func run(m *testing.M) int {
	if testing.Short() {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "sessionmigrate-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := build(dir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	return m.Run()
}

// build compiles sessionapp and migratectl into dir with one go build, so
// the two share the build cache and link in parallel.
func build(dir string) error {
	const module = "github.com/sessionmigrate/sessionmigrate"
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if os.Getenv(raceEnv) == "1" {
		args = append(args, "-race")
	}
	args = append(args, module+"/examples/sessionapp", module+"/cmd/migratectl")
	start := time.Now()
	cmd := exec.Command("go", args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go %v: %w\n%s", args, err, out)
	}
	bins.sessionapp = filepath.Join(dir, "sessionapp")
	bins.migratectl = filepath.Join(dir, "migratectl")
	fmt.Fprintf(os.Stderr, "e2e: built sessionapp and migratectl in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// raceOptions returns the environment that keeps a race-instrumented
// binary from sleeping a second at exit (GORACE's atexit_sleep_ms), unless
// the developer set GORACE.
func raceOptions() []string {
	if _, set := os.LookupEnv("GORACE"); set {
		return nil
	}
	return []string{"GORACE=atexit_sleep_ms=0"}
}

// skipShort skips the calling test under -short: every test here starts
// processes and runs for seconds.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: skipped in -short mode")
	}
}
