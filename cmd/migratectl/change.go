package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// changeFlags are the flags of the commands that change the state.
type changeFlags struct {
	reason string
	dryRun bool
	force  bool
}

// addChangeFlags defines --reason and --dry-run on cmd, and --force when
// withForce is set.
func addChangeFlags(cmd *cobra.Command, f *changeFlags, withForce bool) {
	cmd.Flags().StringVar(&f.reason, "reason", "", "why this change is made (required; recorded in the audit log)")
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "show current -> next, run every check, change nothing")
	if withForce {
		cmd.Flags().BoolVar(&f.force, "force", false, "override the guard rails (stage order, clean diff, leaving complete)")
	}
}

// target computes the stage and percent a command moves the current state
// to.
type target func(cur control.State) (stage string, percent float64)

// move moves the state to what to returns for the current one, name being
// the command. It enforces the stage order with control's CheckTransition
// (including the clean-diff gate of complete), writes with a
// compare-and-set against the epoch it read, and so never overwrites a
// change made meanwhile: that fails with nothing written.
func (a *app) move(cmd *cobra.Command, name string, f changeFlags, to target) error {
	reason, err := reasonRequired(f.reason)
	if err != nil {
		return err
	}
	return a.withState(cmd, func(ctx context.Context, ctl *control.Client, cur control.State) error {
		stage, percent := to(cur)
		if err := a.checkTransition(ctx, ctl, cur, stage, percent, f.force); err != nil {
			return err
		}
		if err := a.checkGuards(ctx, ctl, cur, stage, percent, f.force); err != nil {
			return err
		}
		next := cur
		next.Stage, next.Percent = stage, percent
		next.Actor, next.Reason = a.actor(), reason
		view := changeView{Command: name, DryRun: f.dryRun, From: newStateView(cur)}
		switch {
		case stage == cur.Stage && percent == cur.Percent:
			view.To = view.From
			return a.render(view, func(w io.Writer) {
				fmt.Fprintf(w, "already %s (epoch %d): nothing changed\n", describe(cur), cur.Epoch)
			})
		case f.dryRun:
			next.Epoch, next.Time = cur.Epoch+1, time.Time{}
			view.To = newStateView(next)
			return a.render(view, func(w io.Writer) { writeDryRun(w, cur, next) })
		}
		if a.beforeWrite != nil {
			a.beforeWrite()
		}
		update := ctl.Update
		if f.force {
			update = ctl.UpdateForced // history shows every --force
		}
		written, err := update(ctx, cur.Epoch, next)
		if errors.Is(err, control.ErrConflict) {
			return failf("the state changed while this command ran (%s): nothing was written; check `migratectl status` and run the command again",
				after(err.Error(), control.ErrConflict.Error()+": "))
		}
		if err != nil {
			return err
		}
		view.Changed, view.To = true, newStateView(written)
		return a.render(view, func(w io.Writer) { writeChanged(w, cur, written) })
	})
}

// checkTransition runs the stage-order rules. When --force lifts a
// refusal it says so on stderr, so that an override is never silent.
func (a *app) checkTransition(ctx context.Context, ctl *control.Client, cur control.State, stage string, percent float64, force bool) error {
	err := ctl.CheckTransition(ctx, cur, stage, percent, false)
	if err == nil || !force || !errors.Is(err, control.ErrRefused) {
		return err
	}
	fmt.Fprintf(a.stderr, "migratectl: warning: --force overrides: %s\n", strings.TrimPrefix(classify(err).Error(), "refused: "))
	return ctl.CheckTransition(ctx, cur, stage, percent, true)
}

// writeDryRun is the table output of a dry run.
func writeDryRun(w io.Writer, cur, next control.State) {
	fmt.Fprintf(w, "dry run: %s -> %s (epoch %d -> %d): nothing changed\n", describe(cur), describe(next), cur.Epoch, next.Epoch)
}

// writeChanged is the table output of a written change.
func writeChanged(w io.Writer, cur, next control.State) {
	fmt.Fprintf(w, "%s -> %s (epoch %d -> %d) by %s\n", describe(cur), describe(next), cur.Epoch, next.Epoch, clean(next.Actor))
}
