package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// resumeCommand is `migratectl resume`.
func (a *app) resumeCommand() *cobra.Command {
	var f changeFlags
	cmd := &cobra.Command{
		Use:   "resume",
		Short: "End a rollback: restore the stage in effect before it",
		Long: `End a rollback, manual or automatic: restore the stage and percentage in
effect before it and release every instance's guard. Refused (exit 3) when
the state is not rolled back. Investigate the rollback's reason first
("migratectl status" shows it).`,
		Args: cobra.ExactArgs(0),
	}
	addChangeFlags(cmd, &f, false)
	cmd.RunE = a.runE(func(cmd *cobra.Command, _ []string) error {
		reason, err := reasonRequired(f.reason)
		if err != nil {
			return err
		}
		return a.withState(cmd, func(ctx context.Context, ctl *control.Client, cur control.State) error {
			if !cur.Tripped() {
				return &cliError{code: exitRefused, err: fmt.Errorf("refused: nothing to resume: the state (%s, epoch %d) is not rolled back", describe(cur), cur.Epoch)}
			}
			view := changeView{Command: "resume", DryRun: f.dryRun, From: newStateView(cur)}
			if f.dryRun {
				next := cur
				next.Stage, next.Percent, next.Rollback = cur.Rollback.FromStage, cur.Rollback.FromPercent, nil
				next.Actor, next.Reason = a.actor(), reason
				next.Epoch, next.Time = cur.Epoch+1, time.Time{}
				view.To = newStateView(next)
				return a.render(view, func(w io.Writer) { writeDryRun(w, cur, next) })
			}
			written, err := ctl.Resume(ctx, a.actor(), reason)
			if err != nil {
				return err
			}
			view.Changed, view.To = true, newStateView(written)
			return a.render(view, func(w io.Writer) { writeChanged(w, cur, written) })
		})
	})
	return cmd
}
