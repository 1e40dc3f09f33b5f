package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// instancesView is the output of `migratectl instances`.
type instancesView struct {
	// Epoch is the desired state's epoch, which converged instances applied.
	Epoch uint64 `json:"epoch"`
	// Instances are the live instances, sorted by id.
	Instances []instanceView `json:"instances"`
}

// instancesCommand is `migratectl instances`.
func (a *app) instancesCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "instances",
		Short: "List live application instances and whether they applied the desired state",
		Args:  cobra.ExactArgs(0),
		RunE: a.runE(func(cmd *cobra.Command, _ []string) error {
			return a.withState(cmd, func(ctx context.Context, ctl *control.Client, st control.State) error {
				ins, err := liveInstances(ctx, ctl, st.Epoch)
				if err != nil {
					return err
				}
				v := instancesView{Epoch: st.Epoch, Instances: ins}
				return a.render(v, func(w io.Writer) {
					if len(v.Instances) == 0 {
						io.WriteString(w, "no live instances\n")
						return
					}
					writeInstances(w, v.Instances)
				})
			})
		}),
	}
}

// liveInstances returns the views of the live instances, sorted by id, each
// marked converged when it applied the desired epoch.
func liveInstances(ctx context.Context, ctl *control.Client, desired uint64) ([]instanceView, error) {
	hbs, err := ctl.Instances(ctx)
	if err != nil {
		return nil, err
	}
	return newInstanceViews(hbs, desired), nil
}

// writeInstances writes the instance table.
func writeInstances(w io.Writer, ins []instanceView) {
	row(w, "INSTANCE", "HOST", "VERSION", "STAGE", "PERCENT", "EPOCH", "CONVERGED", "GUARD", "ERRORS", "P99", "SESSIONS", "IN REDIS", "UNSYNCED", "DROPPED", "SEEN")
	for _, in := range ins {
		guard := "ok"
		switch {
		case in.GuardTripped:
			guard = "TRIPPED"
		case in.GuardPaused:
			guard = "paused"
		}
		conv := "yes"
		if !in.Converged {
			conv = "NO"
		}
		if in.LastStateError != "" {
			conv += " (state error: " + clean(in.LastStateError) + ")"
		}
		p99 := time.Duration(in.DistP99Seconds * float64(time.Second)).Round(10 * time.Microsecond)
		inRedis := "-" // no diff yet
		if in.InRedis != nil {
			inRedis = fmt.Sprintf("%d of %d", *in.InRedis, *in.DiffChecked)
		}
		row(w, clean(in.ID), clean(in.Host), clean(in.Version), in.Stage, fmt.Sprintf("%g%%", in.Percent), in.Epoch, conv, guard,
			fmt.Sprintf("%.2f%%", in.DistErrorRate*100), p99, in.LocalSessions, inRedis, in.Unsynced, in.AsyncDropped, when(in.LastSeen))
	}
}
