package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// finishView is the output of `migratectl finish`.
type finishView struct {
	DryRun bool   `json:"dry_run"`
	Reason string `json:"reason"`
	// AuditFile and AuditEntries: where the audit was exported, how many
	// entries (empty and 0 in a dry run).
	AuditFile    string `json:"audit_file"`
	AuditEntries int    `json:"audit_entries"`
	// Sidecars counts the sessions' sidecar keys, records' and tombstones'.
	Sidecars redisstore.SidecarCounts `json:"sidecars"`
	// ControlKeys are the control plane's keys found; ControlKeysRemoved
	// those deleted (0 in a dry run).
	ControlKeys        int `json:"control_keys"`
	ControlKeysRemoved int `json:"control_keys_removed"`
}

// finishCommand is `migratectl finish`.
func (a *app) finishCommand() *cobra.Command {
	var (
		reason, auditFile string
		dryRun            bool
		batch             int
	)
	cmd := &cobra.Command{
		Use:   "finish --audit-file FILE --reason R [--dry-run]",
		Short: "After complete, remove the toolkit's keys: Redis keeps the sessions exactly as scs does",
		Long: `Remove the toolkit's footprint from Redis once the migration is over: every
session's sidecar key (versions and tombstones) and the control plane's keys
(state, audit, instances, jobs, last diff), in batches with progress on
stderr. The audit is exported first, as JSON, to --audit-file; if that
fails nothing is removed. What stays is exactly what scs keeps: the data
keys (scs:session:<token>) with their PXAT expiry.

Refused (exit 3) unless the state is complete, not rolled back, for at
least control.drain_window, with no job running and no live instance: the
applications must run plain scs first (no heartbeat left; see
"migratectl instances"), or they would write sidecars again. --dry-run runs
every check and counts what would go.`,
		Args: cobra.ExactArgs(0),
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (required; printed with the result)")
	cmd.Flags().StringVar(&auditFile, "audit-file", "", "write the audit log here as JSON before removing it (required unless --dry-run)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "run every check and count what would be removed; remove nothing")
	cmd.Flags().IntVar(&batch, "batch", 1000, "keys per round trip")
	cmd.RunE = a.runE(func(cmd *cobra.Command, _ []string) error {
		r, err := reasonRequired(reason)
		if err != nil {
			return err
		}
		if auditFile == "" && !dryRun {
			return usagef("--audit-file is required: the audit log is exported there before it is removed")
		}
		if batch < 1 {
			return usagef("--batch %d: must be positive", batch)
		}
		// Long: the whole keyspace is walked. Bounded by the caller only.
		if _, err := a.loadConfig(cmd); err != nil {
			return err
		}
		ctx := cmd.Context()
		return a.withControlCtx(ctx, func(cctx context.Context, ctl *control.Client) error {
			if err := a.finishAllowed(cctx, ctl); err != nil {
				return err
			}
			v := finishView{DryRun: dryRun, Reason: r}
			if !dryRun {
				n, err := exportAudit(cctx, ctl, auditFile)
				if err != nil {
					return err
				}
				v.AuditFile, v.AuditEntries = auditFile, n
				fmt.Fprintf(a.stderr, "finish: %d audit entries written to %s\n", n, auditFile)
			}
			if err := a.removeFootprint(ctx, ctl, &v, batch); err != nil {
				return err
			}
			return a.render(v, func(w io.Writer) { writeFinish(w, v, a.cfg.Store.Prefix) })
		})
	})
	return cmd
}

// finishAllowed refuses finish before complete, while rolled back, within
// the drain window, while a job runs or while any instance runs the
// toolkit.
func (a *app) finishAllowed(ctx context.Context, ctl *control.Client) error {
	refuse := func(format string, args ...any) error {
		return &cliError{code: exitRefused, err: fmt.Errorf("refused: "+format, args...)}
	}
	st, err := a.state(ctx, ctl)
	if err != nil {
		return err
	}
	switch {
	case st.Stage != control.StageComplete:
		return refuse("finish needs complete: the state is %s (epoch %d); until complete, local stores still hold sessions Redis may lack", describe(st), st.Epoch)
	case st.Tripped():
		return refuse("the state is rolled back (%s): resume and settle first", describe(st))
	}
	if wait := a.cfg.Control.DrainWindow - time.Since(st.Time); wait > 0 {
		return refuse("complete since %s: wait out the drain window (control.drain_window %s), %s more", when(st.Time), a.cfg.Control.DrainWindow, wait.Round(time.Second))
	}
	jobs, err := ctl.ActiveJobs(ctx)
	if err != nil {
		return err
	}
	if jobs = slices.DeleteFunc(jobs, func(id string) bool { return id == "" }); len(jobs) > 0 {
		return refuse("jobs running (%s): wait for them or cancel them (migratectl jobs)", strings.Join(jobs, ", "))
	}
	hbs, err := ctl.Instances(ctx)
	if err != nil {
		return err
	}
	if len(hbs) > 0 {
		var ids []string
		for _, hb := range hbs {
			ids = append(ids, clean(hb.InstanceID))
		}
		return refuse("%d instances still run the toolkit (%s): switch them to plain scs first (runbooks/phases/finish.md) and wait until migratectl instances lists none",
			len(hbs), strings.Join(ids, ", "))
	}
	return nil
}

// exportAudit writes the audit to path; on any failure nothing is removed.
func exportAudit(ctx context.Context, ctl *control.Client, path string) (int, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, failf("export the audit: %v (nothing removed)", err)
	}
	n, err := ctl.ExportAudit(ctx, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, failf("export the audit to %s: %v (nothing removed)", path, err)
	}
	return n, nil
}

// removeFootprint removes (or counts) the sidecars, then the control
// plane's keys, showing progress on stderr at most once a second.
func (a *app) removeFootprint(ctx context.Context, ctl *control.Client, v *finishView, batch int) error {
	verb := "removed"
	if v.DryRun {
		verb = "to remove"
	}
	var shown time.Time
	show := func(format string, args ...any) {
		if time.Since(shown) >= time.Second {
			shown = time.Now()
			fmt.Fprintf(a.stderr, "finish: "+format+"\n", args...)
		}
	}
	rs := redisstore.New(a.rdb, a.cfg.StoreOptions())
	counts, err := rs.RemoveSidecars(ctx, redisstore.RemoveSidecarsOptions{DryRun: v.DryRun, Batch: batch, Progress: func(c redisstore.SidecarCounts) {
		show("sidecars: %s keys scanned, %s sidecars %s", thousands(c.Scanned), thousands(c.Found()), verb)
	}})
	v.Sidecars = counts
	if err != nil {
		return failf("removing sidecars (%s removed so far; run finish again): %v", thousands(counts.Removed), err)
	}
	shown = time.Time{}
	found, removed, err := ctl.RemoveAll(ctx, control.RemoveOptions{DryRun: v.DryRun, Batch: batch, Progress: func(f, r int) {
		show("control plane: %d keys found, %d removed", f, r)
	}})
	v.ControlKeys, v.ControlKeysRemoved = found, removed
	if err != nil {
		return failf("removing the control plane's keys (%d removed so far; run finish again): %v", removed, err)
	}
	return nil
}

// writeFinish is the table output of finish.
func writeFinish(w io.Writer, v finishView, prefix string) {
	s := v.Sidecars
	if v.DryRun {
		fmt.Fprintf(w, "dry run: would remove %s sidecar keys (%s of sessions, %s tombstones, %s other) and %d control-plane keys: nothing removed\n",
			thousands(s.Found()), thousands(s.Records), thousands(s.Tombstones), thousands(s.Other), v.ControlKeys)
		return
	}
	fmt.Fprintf(w, "audit: %d entries exported to %s\n", v.AuditEntries, v.AuditFile)
	fmt.Fprintf(w, "removed %s sidecar keys (%s of sessions, %s tombstones, %s other) and %d control-plane keys\n",
		thousands(s.Removed), thousands(s.Records), thousands(s.Tombstones), thousands(s.Other), v.ControlKeysRemoved)
	fmt.Fprintf(w, "Redis keeps the sessions as scs does: %s<token> with their PXAT expiry\n", prefix)
}
