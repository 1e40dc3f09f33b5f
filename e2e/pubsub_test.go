package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/internal/vuser"
)

// The provider's log messages that tell how a change was delivered.
const (
	logSubscriptionLost     = "lost the migration state subscription"
	logSubscriptionRestored = "migration state subscription restored"
)

// TestPubSubCut checks that instances converge within their poll interval
// (plus a second of slack) when the change notice does not reach them:
//
//   - "kill": every pub/sub connection of the control plane's Redis is
//     killed (CLIENT KILL TYPE pubsub) just before migratectl changes the
//     state. go-redis re-subscribes within milliseconds, so the notice
//     usually arrives on the new subscription; the test logs the path.
//   - "notices lost": the instances' Redis user loses its pub/sub rights
//     (ACL SETUSER default resetchannels), which disconnects their
//     subscribers and refuses them a new one, while migratectl writes as
//     another user. No notice can arrive: the poll must deliver the change.
func TestPubSubCut(t *testing.T) {
	skipShort(t)
	const pollInterval = 500 * time.Millisecond
	srv := redistest.StartServer(t)
	insts := startInstances(t, 3, srv.Addr, instanceConfig{Poll: pollInterval})
	op := operator{t: t, addr: srv.Addr}
	load := startLoad(t, insts, vuser.Config{})
	waitApplied(t, insts, op.change("stage", "shadow", "--reason", "e2e pubsub: setup"), applyBound)
	rdb := srv.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// cut runs one case: fault cuts the notices, then op changes the state
	// to stage and every instance must apply it in time.
	cut := func(t *testing.T, op operator, stage string, fault func(t *testing.T)) []string {
		marks := make([]int, len(insts))
		for i, in := range insts {
			marks[i] = in.logs.mark()
		}
		fault(t)
		st := op.change("stage", stage, "--reason", "e2e pubsub: "+t.Name())
		sts := waitApplied(t, insts, st, pollInterval+time.Second)
		paths := make([]string, len(insts))
		for i, s := range sts {
			d := s.Since.Sub(*st.Time)
			paths[i] = deliveryPath(insts[i].logs.since(marks[i]), *st.Time, s.Since)
			t.Logf("%s applied %s %s after the write, via %s", insts[i].Name, st, d.Round(10*time.Microsecond), paths[i])
			if d > pollInterval+time.Second {
				t.Errorf("%s applied the change %s after it was written, want within %s", insts[i].Name, d, pollInterval+time.Second)
			}
		}
		return paths
	}

	t.Run("kill", func(t *testing.T) {
		cut(t, op, "dual", func(t *testing.T) {
			killed, err := rdb.ClientKillByFilter(ctx, "TYPE", "pubsub").Result()
			if err != nil {
				t.Fatalf("CLIENT KILL TYPE pubsub: %v", err)
			}
			if killed < int64(len(insts)) {
				t.Fatalf("CLIENT KILL TYPE pubsub: killed %d connections, want at least one per instance (%d)", killed, len(insts))
			}
			t.Logf("killed %d pub/sub connections", killed)
		})
	})

	t.Run("notices lost", func(t *testing.T) {
		const user, password = "e2e-operator", "e2e-operator-password"
		if err := rdb.Do(ctx, "ACL", "SETUSER", user, "on", ">"+password, "~*", "&*", "+@all").Err(); err != nil {
			t.Fatalf("ACL SETUSER %s: %v", user, err)
		}
		asUser := operator{t: t, addr: srv.Addr, args: []string{"--redis-username", user},
			env: []string{"MIGRATECTL_REDIS_PASSWORD=" + password}}
		paths := cut(t, asUser, "shadow", func(t *testing.T) {
			if err := rdb.Do(ctx, "ACL", "SETUSER", "default", "resetchannels").Err(); err != nil {
				t.Fatalf("ACL SETUSER default resetchannels: %v", err)
			}
		})
		for i, p := range paths {
			if !strings.HasPrefix(p, "the poll") {
				t.Errorf("%s: change delivered via %s, want the poll (no notice can arrive)", insts[i].Name, p)
			}
		}
	})
	checkClean(t, load.Stop())
}

// deliveryPath tells from an instance's log lines after the cut how the
// change written at written and applied at applied most likely arrived.
func deliveryPath(lines []string, written, applied time.Time) string {
	lost, restored := false, time.Time{}
	for _, l := range lines {
		switch {
		case strings.Contains(l, logSubscriptionLost):
			lost = true
		case strings.Contains(l, logSubscriptionRestored) && restored.IsZero():
			restored = logTime(l)
		}
	}
	switch {
	case !lost:
		return "pub/sub (no lost subscription logged: the subscriber had not noticed the cut)"
	case restored.IsZero() || restored.After(applied):
		return "the poll (the subscription was not restored before the change was applied)"
	case restored.Before(written):
		return fmt.Sprintf("pub/sub on the re-established subscription (restored %s before the write)", written.Sub(restored).Round(time.Millisecond))
	default:
		return fmt.Sprintf("the reload that follows re-subscribing (restored %s after the write)", restored.Sub(written).Round(time.Millisecond))
	}
}

// logTime returns the time= field of a slog text line, or the zero time.
func logTime(line string) time.Time {
	for f := range strings.FieldsSeq(line) {
		if v, ok := strings.CutPrefix(f, "time="); ok {
			t, _ := time.Parse(time.RFC3339Nano, v)
			return t
		}
	}
	return time.Time{}
}
