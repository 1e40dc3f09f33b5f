package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// statusView is the output of `migratectl status`.
type statusView struct {
	// State is the desired state every instance follows.
	State stateView `json:"state"`
	// Instances are the live instances, sorted by id.
	Instances []instanceView `json:"instances"`
	// InstancesConverged counts the instances that applied State.Epoch.
	InstancesConverged int `json:"instances_converged"`
	// Converged is true when every live instance applied State.Epoch
	// (vacuously true with no instance).
	Converged bool `json:"converged"`
	// LastDiff is the newest consistency diff, null when none was recorded.
	LastDiff *diffView `json:"last_diff"`
	// LastDiffError says why the last diff could not be read; empty when it
	// could.
	LastDiffError string `json:"last_diff_error,omitempty"`
	// RepairBacklog sums the live instances' unsynced sessions (their
	// distributed copies may be behind); AsyncDropped their dropped async
	// writes.
	RepairBacklog int    `json:"repair_backlog"`
	AsyncDropped  uint64 `json:"async_dropped"`
	// JobsRunning are the ids of the running jobs.
	JobsRunning []string `json:"jobs_running"`
}

// statusCommand is `migratectl status`.
func (a *app) statusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the desired state, the instances following it and the last diff",
		Args:  cobra.ExactArgs(0),
		RunE: a.runE(func(cmd *cobra.Command, _ []string) error {
			return a.withState(cmd, func(ctx context.Context, ctl *control.Client, st control.State) error {
				ins, err := liveInstances(ctx, ctl, st.Epoch)
				if err != nil {
					return err
				}
				v := statusView{State: newStateView(st), Instances: ins}
				for _, in := range v.Instances {
					if in.Converged {
						v.InstancesConverged++
					}
				}
				v.Converged = v.InstancesConverged == len(v.Instances)
				for _, in := range v.Instances {
					v.RepairBacklog += in.Unsynced
					v.AsyncDropped += in.AsyncDropped
				}
				ids, err := ctl.ActiveJobs(ctx)
				if err != nil {
					return err
				}
				v.JobsRunning = slices.DeleteFunc(ids, func(id string) bool { return id == "" })
				// A bad diff record must not hide the state: report it beside.
				switch d, found, err := ctl.LastDiff(ctx); {
				case err != nil:
					v.LastDiffError = a.explain(err).Error()
				case found:
					v.LastDiff = newDiffView(d)
				}
				return a.render(v, func(w io.Writer) { writeStatus(w, st, v) })
			})
		}),
	}
}

// writeStatus is the table output of status.
func writeStatus(w io.Writer, st control.State, v statusView) {
	row(w, "STAGE:", describe(st))
	row(w, "EPOCH:", st.Epoch)
	if !st.Time.IsZero() {
		row(w, "CHANGED:", fmt.Sprintf("%s by %s: %s", when(st.Time), clean(st.Actor), clean(st.Reason)))
	}
	if r := st.Rollback; r != nil {
		kind := "manual"
		if r.Automatic {
			kind = fmt.Sprintf("automatic (guard %s on %s)", clean(r.Signal), clean(r.Instance))
		}
		row(w, "ROLLBACK:", fmt.Sprintf("%s at %s: %s", kind, when(r.At), clean(r.Reason)))
		row(w, "", fmt.Sprintf("resume restores %s", describe(control.State{Stage: r.FromStage, Percent: r.FromPercent})))
	} else {
		row(w, "ROLLBACK:", "none")
	}
	switch d := v.LastDiff; {
	case v.LastDiffError != "":
		row(w, "LAST DIFF:", "unreadable: "+v.LastDiffError)
	case d == nil:
		row(w, "LAST DIFF:", "none recorded")
	default:
		verdict := "clean"
		if !d.Clean {
			verdict = "NOT clean"
		}
		var kinds []string
		for _, k := range control.DiffKinds {
			kinds = append(kinds, fmt.Sprintf("%d %s", d.Kinds[k], k))
		}
		at := "an unrecorded stage"
		if d.Stage != "" {
			at = describe(control.State{Stage: d.Stage, Percent: d.Percent})
		}
		row(w, "LAST DIFF:", fmt.Sprintf("%s: %d checked on %d instances at %s (%s, epoch %d, job %s)",
			verdict, d.Checked, d.Instances, at, when(d.At), d.Epoch, clean(d.Job)))
		row(w, "", "mismatches: "+strings.Join(kinds, ", "))
		if d.Partial {
			row(w, "", "PARTIAL: "+clean(d.Incomplete))
		}
	}
	row(w, "REPAIR BACKLOG:", fmt.Sprintf("%d sessions unsynced; %d async writes dropped (live instances)", v.RepairBacklog, v.AsyncDropped))
	if len(v.JobsRunning) > 0 {
		row(w, "JOBS:", strings.Join(v.JobsRunning, ", ")+" running")
	}
	row(w, "INSTANCES:", fmt.Sprintf("%d live, %d converged on epoch %d", len(v.Instances), v.InstancesConverged, st.Epoch))
	if len(v.Instances) > 0 {
		io.WriteString(w, "\n")
		writeInstances(w, v.Instances)
	}
}
