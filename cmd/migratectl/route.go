package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
	"github.com/sessionmigrate/sessionmigrate/redact"
	"github.com/sessionmigrate/sessionmigrate/router"
)

// maxIDBytes bounds the session id read from stdin.
const maxIDBytes = 4096

// Stores a session is read from or written to, in route output.
const (
	storeLocal     = "local"
	storeDist      = "distributed"
	storeDistAsync = "distributed-async"
)

// routeView is the output of `migratectl route`.
type routeView struct {
	// Session is the redacted session id (redact.ID keyed with
	// migration.salt: "h:" and 12 hex digits of HMAC-SHA256). The id itself
	// is never printed.
	Session string `json:"session"`
	// Bucket is router.Bucket(salt, id), 0..9999.
	Bucket uint32 `json:"bucket"`
	// Cut is the bucket boundary of Percent: at ramp, buckets below it read
	// from the distributed store.
	Cut     uint32  `json:"cut"`
	Stage   string  `json:"stage"`
	Percent float64 `json:"percent"`
	Epoch   uint64  `json:"epoch"`
	Tripped bool    `json:"tripped"`
	// ReadsFrom is "local" or "distributed".
	ReadsFrom string `json:"reads_from"`
	// WritesTo lists "local", "distributed" (synchronous) and
	// "distributed-async" (shadow's queued copy).
	WritesTo []string `json:"writes_to"`
}

// routeCommand is `migratectl route <session-id|->`.
func (a *app) routeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "route <session-id|->",
		Short: "Explain which store serves one session at the current state",
		Long: `Explain where one session is read and written at the current stage and
percentage: its bucket (xxhash64(salt + id) % 10000, pinned forever) against
the cut of the percentage. "-" reads the id from stdin, which keeps it out of
shell history and process listings; prefer it. The id is never printed: the
output shows a keyed hash (HMAC-SHA256 with the salt) to match with logs.

At ramp, a session routed to Redis is still served from local while its
instance holds an unsynced write for it or Redis fails.`,
		Args: cobra.ExactArgs(1),
		RunE: a.runE(func(cmd *cobra.Command, args []string) error {
			id, err := a.sessionID(args[0])
			if err != nil {
				return err
			}
			return a.withState(cmd, func(ctx context.Context, ctl *control.Client, st control.State) error {
				v, err := route(a.cfg.Migration.Salt, id, st)
				if err != nil {
					return err
				}
				return a.render(v, func(w io.Writer) { writeRoute(w, st, v) })
			})
		}),
	}
}

// sessionID returns the id given as arg, or read from stdin for "-".
// Errors never contain the id.
func (a *app) sessionID(arg string) (string, error) {
	if arg != "-" {
		if strings.TrimSpace(arg) == "" {
			return "", usagef("the session id is empty")
		}
		return arg, nil
	}
	b, err := io.ReadAll(io.LimitReader(a.stdin, maxIDBytes+1))
	if err != nil {
		return "", failf("read the session id from stdin: %v", err)
	}
	if len(b) > maxIDBytes {
		return "", usagef("stdin holds more than %d bytes: expected one session id", maxIDBytes)
	}
	id := strings.TrimSpace(string(b))
	switch {
	case id == "":
		return "", usagef("stdin holds no session id")
	case strings.ContainsAny(id, "\r\n"):
		return "", usagef("stdin holds more than one line: expected one session id")
	}
	return id, nil
}

// route computes where id goes under st.
func route(salt, id string, st control.State) (routeView, error) {
	cut, err := router.Cut(st.Percent)
	if err != nil {
		return routeView{}, failf("state percent: %v", err)
	}
	v := routeView{
		Session: redact.ID(salt, id),
		Bucket:  router.Bucket(salt, id),
		Cut:     cut,
		Stage:   st.Stage,
		Percent: st.Percent,
		Epoch:   st.Epoch,
		Tripped: st.Tripped(),
	}
	switch st.Stage {
	case control.StageLocal:
		v.ReadsFrom, v.WritesTo = storeLocal, []string{storeLocal}
	case control.StageShadow:
		v.ReadsFrom, v.WritesTo = storeLocal, []string{storeLocal, storeDistAsync}
	case control.StageDual:
		v.ReadsFrom, v.WritesTo = storeLocal, []string{storeLocal, storeDist}
	case control.StageRamp:
		v.ReadsFrom, v.WritesTo = storeLocal, []string{storeLocal, storeDist}
		if v.Bucket < cut {
			v.ReadsFrom = storeDist
		}
	default: // complete
		v.ReadsFrom, v.WritesTo = storeDist, []string{storeDist}
	}
	return v, nil
}

// writeRoute is the table output of route.
func writeRoute(w io.Writer, st control.State, v routeView) {
	row(w, "SESSION:", v.Session+" (keyed hash; the id is never shown)")
	row(w, "BUCKET:", fmt.Sprintf("%d of %d", v.Bucket, router.Buckets))
	state := fmt.Sprintf("%s (epoch %d)", describe(st), st.Epoch)
	if st.Stage == control.StageRamp {
		state += fmt.Sprintf(": buckets below %d read from Redis", v.Cut)
	}
	row(w, "STATE:", state)
	row(w, "READS FROM:", v.ReadsFrom)
	row(w, "WRITES TO:", strings.Join(v.WritesTo, ", "))
}
