package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Check results.
const (
	checkPass = "pass"
	checkWarn = "warn"
	checkFail = "fail"
	// checkSkip: not checked, because an earlier check failed (Redis
	// unreachable) or it does not apply.
	checkSkip = "skip"
)

// Preflight areas: each failed area sets its bit in the exit status.
const (
	areaConnection = "connection" // reachable, version, authentication, TLS
	areaCapacity   = "capacity"   // eviction policy, memory headroom, persistence
	areaTopology   = "topology"   // replication, sentinel, cluster, latency
	areaFleet      = "fleet"      // clock skew, salt agreement
)

// The exit status of preflight: 0 when no check failed (warnings do not
// count without --strict), else exitPreflightBase plus a bit per area with
// a failed check. The codes so made, 17 to 31, collide neither with 1 to 4
// nor with the diff's 33 to 127.
const (
	exitPreflightBase       = 16
	exitPreflightConnection = 1
	exitPreflightCapacity   = 2
	exitPreflightTopology   = 4
	exitPreflightFleet      = 8
)

var areaBits = map[string]int{
	areaConnection: exitPreflightConnection,
	areaCapacity:   exitPreflightCapacity,
	areaTopology:   exitPreflightTopology,
	areaFleet:      exitPreflightFleet,
}

// checkResult is one line of preflight.
type checkResult struct {
	Name   string `json:"name"`
	Area   string `json:"area"`
	Result string `json:"result"`
	Detail string `json:"detail"`
}

// preflightView is the output of `migratectl preflight`.
type preflightView struct {
	Checks []checkResult `json:"checks"`
	Pass   int           `json:"pass"`
	Warn   int           `json:"warn"`
	Fail   int           `json:"fail"`
	Skip   int           `json:"skip"`
	Strict bool          `json:"strict"`
	// ExitCode is what preflight exits with (see exit.go).
	ExitCode int `json:"exit_code"`
}

// preflightCommand is `migratectl preflight`.
func (a *app) preflightCommand() *cobra.Command {
	var opts preflightOptions
	cmd := &cobra.Command{
		Use:   "preflight",
		Short: "Check Redis and the fleet before a migration: one pass/warn/fail line per check",
		Long: `Check what a migration relies on, one line per check: Redis reachable and
its version (7.0 or later), authentication, TLS, the eviction policy (an
eviction policy with a memory limit evicts live sessions: fail), the memory
headroom for the sessions to migrate (the instances' local sessions times
their mean size plus the sidecar), persistence (none: warn, a restart of
Redis loses every session), replication, sentinel and cluster health, the
latency against the guard's threshold, and across the live instances
(their heartbeats) the clock skew and the bucketing salt.

Exit status: 0 when no check failed (warnings count as failures with
--strict), else 16 plus a bit per area with a failure: 1 connection
(reachable, version, authentication, TLS), 2 capacity (eviction policy,
memory, persistence), 4 topology (replication, sentinel, cluster, latency),
8 fleet (clock skew, salt). 17..31, apart from 1..4 and the diff's 33..127.`,
		Args: cobra.ExactArgs(0),
	}
	cmd.Flags().BoolVar(&opts.strict, "strict", false, "count warnings as failures in the exit status")
	cmd.Flags().IntVar(&opts.sessionBytes, "session-bytes", 0, "mean size of a session's data in bytes (0: measured on sessions already in Redis, else 1024)")
	cmd.Flags().IntVar(&opts.pings, "pings", 50, "round trips timed for the latency check")
	cmd.RunE = a.runE(func(cmd *cobra.Command, _ []string) error {
		if opts.sessionBytes < 0 || opts.pings < 1 {
			return usagef("--session-bytes must not be negative and --pings must be positive")
		}
		ctx, cancel, err := a.setup(cmd)
		if err != nil {
			return err
		}
		defer cancel()
		v := a.preflight(ctx, opts)
		if err := a.render(v, func(w io.Writer) { writePreflight(w, v) }); err != nil {
			return err
		}
		if v.ExitCode != exitOK {
			return &cliError{code: v.ExitCode, err: fmt.Errorf("preflight: %d failed%s (exit %d)", v.Fail, strictNote(v), v.ExitCode)}
		}
		return nil
	})
	return cmd
}

func strictNote(v preflightView) string {
	if v.Strict && v.Warn > 0 {
		return fmt.Sprintf(", %d warned (--strict)", v.Warn)
	}
	return ""
}

// preflightOptions are preflight's flags.
type preflightOptions struct {
	strict       bool
	sessionBytes int
	pings        int
}

// preflight runs every check and computes the exit status.
func (a *app) preflight(ctx context.Context, opts preflightOptions) preflightView {
	v := preflightView{Checks: newPreflight(a, opts).run(ctx), Strict: opts.strict}
	bits := 0
	for _, c := range v.Checks {
		switch c.Result {
		case checkPass:
			v.Pass++
		case checkWarn:
			v.Warn++
			if opts.strict {
				bits |= areaBits[c.Area]
			}
		case checkFail:
			v.Fail++
			bits |= areaBits[c.Area]
		default:
			v.Skip++
		}
	}
	if bits != 0 {
		v.ExitCode = exitPreflightBase | bits
	}
	return v
}

// writePreflight is the table output of preflight.
func writePreflight(w io.Writer, v preflightView) {
	row(w, "CHECK", "RESULT", "DETAIL")
	for _, c := range v.Checks {
		row(w, c.Name, strings.ToUpper(c.Result), clean(c.Detail))
	}
	io.WriteString(w, "\n")
	fmt.Fprintf(w, "preflight: %d pass, %d warn, %d fail, %d skip (exit %d)\n", v.Pass, v.Warn, v.Fail, v.Skip, v.ExitCode)
}
