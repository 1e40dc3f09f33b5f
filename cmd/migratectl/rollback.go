package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// rollbackCommand is `migratectl rollback [--to <stage>]`.
func (a *app) rollbackCommand() *cobra.Command {
	var (
		f  changeFlags
		to string
	)
	cmd := &cobra.Command{
		Use:   "rollback [--to local|shadow|dual]",
		Short: "Roll the migration back and latch it until resume",
		Long: `Roll the migration back to a stage (default shadow: reads from local,
Redis writes asynchronous) and latch the rollback with its reason, exactly as
an instance's guard does when it trips: forward moves are refused until
"migratectl resume", which restores the stage in effect before. Rolling back
a state that is already rolled back to that stage or earlier changes
nothing. Rolling back from complete needs --force: local sessions missed
every write made since complete.`,
		Args: cobra.ExactArgs(0),
	}
	addChangeFlags(cmd, &f, true)
	cmd.Flags().StringVar(&to, "to", control.StageShadow, "stage to roll back to: local, shadow or dual")
	cmd.RunE = a.runE(func(cmd *cobra.Command, _ []string) error {
		reason, err := reasonRequired(f.reason)
		if err != nil {
			return err
		}
		stage, err := parseStage(to)
		if err != nil || !slices.Contains([]string{control.StageLocal, control.StageShadow, control.StageDual}, stage) {
			return usagef("--to %q: allowed local, shadow, dual", to)
		}
		return a.withState(cmd, func(ctx context.Context, ctl *control.Client, cur control.State) error {
			req := control.RollbackRequest{To: stage, Reason: reason, Actor: a.actor(), Force: f.force}
			next, changed, err := previewRollback(cur, req)
			if err != nil {
				return err
			}
			if changed && cur.Stage == control.StageComplete {
				fmt.Fprintln(a.stderr, "migratectl: warning: --force overrides: rolling back from complete serves local sessions that missed every write since complete")
			}
			view := changeView{Command: "rollback", DryRun: f.dryRun, From: newStateView(cur)}
			if f.dryRun || !changed {
				view.To = newStateView(next)
				return a.render(view, func(w io.Writer) { writeRollback(w, cur, next, f.dryRun, changed) })
			}
			written, err := ctl.Rollback(ctx, req)
			if err != nil {
				return err
			}
			view.Changed, view.To = written.Epoch != cur.Epoch, newStateView(written)
			return a.render(view, func(w io.Writer) { writeRollback(w, cur, written, false, view.Changed) })
		})
	})
	return cmd
}

// previewRollback computes what control.Client.Rollback would write for
// cur, with the same rules, for --dry-run and for the no-op case: it
// returns the state unchanged and false when cur is already rolled back to
// req.To or earlier, and a refusal from complete without force.
func previewRollback(cur control.State, req control.RollbackRequest) (control.State, bool, error) {
	rank := func(s string) int { return slices.Index(control.Stages(), s) }
	if cur.Tripped() && rank(cur.Stage) <= rank(req.To) {
		return cur, false, nil
	}
	if cur.Stage == control.StageComplete && !req.Force {
		return control.State{}, false, &cliError{code: exitRefused, err: fmt.Errorf(
			"refused: rollback from complete serves local sessions that missed every write since complete; use --force to roll back anyway")}
	}
	info := control.RollbackInfo{Reason: req.Reason, FromStage: cur.Stage, FromPercent: cur.Percent}
	if cur.Tripped() {
		info.FromStage, info.FromPercent = cur.Rollback.FromStage, cur.Rollback.FromPercent
	}
	next := cur
	if rank(cur.Stage) > rank(req.To) {
		next.Stage, next.Percent = req.To, 0
	}
	next.Rollback = &info
	next.Actor, next.Reason = req.Actor, req.Reason
	next.Epoch, next.Time = cur.Epoch+1, time.Time{}
	return next, true, nil
}

// writeRollback is the table output of rollback.
func writeRollback(w io.Writer, cur, next control.State, dryRun, changed bool) {
	switch {
	case !changed:
		fmt.Fprintf(w, "already %s (epoch %d): nothing changed\n", describe(cur), cur.Epoch)
	case dryRun:
		writeDryRun(w, cur, next)
	default:
		writeChanged(w, cur, next)
	}
	if changed {
		r := next.Rollback
		fmt.Fprintf(w, "latched until `migratectl resume`, which restores %s\n",
			describe(control.State{Stage: r.FromStage, Percent: r.FromPercent}))
	}
}
