package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/migrate"
)

// pollEvery is how often the waits below re-check.
const pollEvery = 5 * time.Millisecond

// poll calls cond every pollEvery until it returns nil, and returns nil; or
// returns cond's last error once bound has passed.
func poll(bound time.Duration, cond func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		err := cond(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not within %s: %w", bound, err)
		case <-tick.C:
		}
	}
}

// applied reports whether st shows the routing of want at want's epoch.
func applied(st migrate.Status, want ctlState) bool {
	return st.Epoch == want.Epoch && string(st.Stage) == want.Stage && st.Percent == want.Percent
}

// observation is a status and when the test read it.
type observation struct {
	migrate.Status
	Seen time.Time
}

// waitStatus polls every instance's /status until match accepts it, and
// returns the first accepted status of each. It fails t after bound with
// every instance's last status.
func waitStatus(t *testing.T, insts []*instance, bound time.Duration, what string, match func(migrate.Status) bool) []observation {
	t.Helper()
	got, err := awaitStatus(insts, bound, what, match)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// awaitStatus is waitStatus returning its failure instead: an error naming
// every instance not accepted and its last status.
func awaitStatus(insts []*instance, bound time.Duration, what string, match func(migrate.Status) bool) ([]observation, error) {
	got := make([]observation, len(insts))
	ok := make([]bool, len(insts))
	last := make([]string, len(insts))
	err := poll(bound, func(ctx context.Context) error {
		pending := 0
		for i, in := range insts {
			if ok[i] {
				continue
			}
			st, err := in.Status(ctx)
			switch {
			case err != nil:
				last[i] = err.Error()
			case match(st):
				got[i], ok[i] = observation{st, time.Now()}, true
				continue
			default:
				last[i] = describeStatus(st)
			}
			pending++
		}
		if pending > 0 {
			return fmt.Errorf("%d of %d instances not yet %s", pending, len(insts), what)
		}
		return nil
	})
	if err != nil {
		var b strings.Builder
		for i, in := range insts {
			if !ok[i] {
				fmt.Fprintf(&b, "\n  %s: %s", in.Name, last[i])
			}
		}
		return nil, fmt.Errorf("waiting for instances %s: %w%s", what, err, b.String())
	}
	return got, nil
}

// waitApplied waits until every instance has applied want: its epoch, stage
// and percent.
func waitApplied(t *testing.T, insts []*instance, want ctlState, bound time.Duration) []observation {
	t.Helper()
	return waitStatus(t, insts, bound, "at "+want.String(), func(st migrate.Status) bool { return applied(st, want) })
}

// describeStatus is one instance's status on one line, for failures.
func describeStatus(st migrate.Status) string {
	s := fmt.Sprintf("stage=%s percent=%g epoch=%d desired=%s/%g tripped=%t since=%s queue=%d unsynced=%d",
		st.Stage, st.Percent, st.Epoch, st.DesiredStage, st.DesiredPercent, st.Tripped,
		st.Since.Format("15:04:05.000"), st.QueueDepth, st.Unsynced)
	if st.TripReason != "" {
		s += " trip_reason=" + st.TripReason
	}
	if st.FlagError != "" {
		s += " flag_error=" + st.FlagError
	}
	return s
}
