package storetest_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sessionmigrate/sessionmigrate/internal/clocktest"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newFakeClock starts at an instant with a sub-millisecond part, so tests
// exercise truncation.
func newFakeClock() *clocktest.Clock {
	return clocktest.New(time.Date(2030, 1, 2, 3, 4, 5, 678_901_234, time.UTC))
}

// bugEnv names the refStore bug a child process runs the suite against.
const bugEnv = "STORETEST_BUG"

// runRef runs the suite against refStore with the given bug.
func runRef(t *testing.T, bug string, realTime bool) {
	clock := newFakeClock()
	cfg := storetest.Config{MaxTTL: time.Hour, Now: clock.Now, Advance: clock.Advance}
	now := clock.Now
	if realTime {
		cfg = storetest.Config{MaxTTL: time.Hour}
		now = time.Now
	}
	storetest.Run(t, func(t *testing.T) store.Store {
		return newRefStore(now, time.Hour, bug)
	}, cfg)
}

func TestReferenceStorePasses(t *testing.T) {
	t.Run("fake clock", func(t *testing.T) { runRef(t, "", false) })
	t.Run("real time", func(t *testing.T) { runRef(t, "", true) })
}

// TestBuggyStore is run in a child process by TestSuiteCatchesBugs.
func TestBuggyStore(t *testing.T) {
	bug := os.Getenv(bugEnv)
	if bug == "" {
		t.Skip("run by TestSuiteCatchesBugs in a child process")
	}
	switch bug {
	case "config-zero-max-ttl":
		storetest.Run(t, func(t *testing.T) store.Store { return newRefStore(time.Now, time.Hour, "") }, storetest.Config{})
	case "config-advance-without-now":
		storetest.Run(t, func(t *testing.T) store.Store { return newRefStore(time.Now, time.Hour, "") },
			storetest.Config{MaxTTL: time.Hour, Advance: func(time.Duration) {}})
	default:
		runRef(t, bug, false)
	}
}

// TestSuiteCatchesBugs runs the suite against stores with one injected bug
// each, in a child process (a failing *testing.T cannot be contained in
// this one), and checks the subtests that must catch it fail.
func TestSuiteCatchesBugs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	cases := []struct {
		bug      string
		wantFail []string // subtests of TestBuggyStore that must fail
	}{
		{"miss-is-error", []string{"Basic/MissIsNotAnError"}},
		{"keeps-alias", []string{"Basic/SetKeepsNoAlias"}},
		{"returns-alias", []string{"Basic/GetReturnsCopy"}},
		{"truncates-to-zero", []string{"Expiry/PastStoresNothing", "Expiry/PastDeletesExisting"}},
		{"no-truncation", []string{"Expiry/PreservedToMillisecond", "Basic/RoundTrip"}},
		{"zero-expiry-immortal", []string{"Expiry/ZeroGetsMaxTTL"}},
		{"past-expiry-ignored", []string{"Expiry/PastDeletesExisting", "Versioned/PastExpiryIsCompareAndDelete"}},
		{"expiry-exclusive", []string{"Expiry/Enforced", "Expiry/ZeroGetsMaxTTL"}},
		{"sliding-expiry", []string{"Expiry/NotExtendedByReads"}},
		{"glob-delete", []string{"IDs/Isolated"}},
		{"float-versions", []string{"Versioned/CompareAndSet"}},
		{"tie-goes-to-set", []string{"DeleteVersion/RemovesAndBlocksOlderAndEqual", "DeleteVersion/OnMissingID"}},
		{"tombstone-forever", []string{"DeleteVersion/ExpiresAtUntil", "DeleteVersion/ZeroUntilIsMaxTTL"}},
		{"delete-keeps-tombstone", []string{"DeleteVersion/DeleteRemovesTombstone"}},
		{"versioned-past-leaves-tombstone", []string{"Versioned/PastExpiryIsCompareAndDelete"}},
		{"scan-includes-tombstones", []string{"Scan/ListsExactlyLiveSessions"}},
		{"scan-ignores-stop", []string{"Scan/StopScan"}},
		{"scan-wraps-error", []string{"Scan/CallbackErrorUnwrapped"}},
		{"scan-ignores-ctx", []string{"Scan/CanceledBeforeScan", "Scan/CanceledDuringScan"}},
		{"setat-ignores-now", []string{"SetAt/ExpiredAtNowDeletes", "SetAt/ZeroExpiryFromNow", "SetAt/ExpiryWithinNowsMillisecond"}},
		{"accepts-far-expiry", []string{"ExpiryRange/RefusedAfterMaxExpiresAt", "Latest/RefusesPastAndOutOfRangeExpiry"}},
		{"latest-is-plain-set", []string{"Latest/StoresAboveHigherRecord", "Latest/StoresAboveTombstone", "Latest/DeleteStoresAbove"}},
		{"latest-delete-ignores-record-expiry", []string{"Latest/DeleteUntilRecordExpiry"}},
		{"tombstone-reports-records", []string{"DeleteVersion/TombstoneReader"}},
		{"config-zero-max-ttl", nil},
		{"config-advance-without-now", nil},
	}
	for _, tc := range cases {
		t.Run(tc.bug, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestBuggyStore$", "-test.v")
			cmd.Env = append(os.Environ(), bugEnv+"="+tc.bug)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("suite passed a store with bug %q, want failures\n%s", tc.bug, out)
			}
			if _, ok := err.(*exec.ExitError); !ok {
				t.Fatalf("running child: %v", err)
			}
			if !strings.Contains(string(out), "--- FAIL: TestBuggyStore") {
				t.Fatalf("child failed without a FAIL line for TestBuggyStore:\n%s", out)
			}
			for _, sub := range tc.wantFail {
				if line := "--- FAIL: TestBuggyStore/" + sub + " "; !strings.Contains(string(out), line) {
					t.Errorf("bug %q: subtest %s did not fail, want it to\n%s", tc.bug, sub, out)
				}
			}
		})
	}
}
