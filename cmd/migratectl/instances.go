package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
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
			ctx, cancel, err := a.setup(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			ctl, err := a.connect(ctx)
			if err != nil {
				return err
			}
			st, err := a.state(ctx, ctl)
			if err != nil {
				return err
			}
			hbs, err := ctl.Instances(ctx)
			if err != nil {
				return err
			}
			v := instancesView{Epoch: st.Epoch, Instances: newInstanceViews(hbs, st.Epoch)}
			return a.render(v, func(w io.Writer) {
				if len(v.Instances) == 0 {
					io.WriteString(w, "no live instances\n")
					return
				}
				writeInstances(w, v.Instances)
			})
		}),
	}
}

// writeInstances writes the instance table.
func writeInstances(w io.Writer, ins []instanceView) {
	row(w, "INSTANCE", "HOST", "VERSION", "STAGE", "PERCENT", "EPOCH", "CONVERGED", "GUARD", "ERRORS", "P99", "SESSIONS", "SEEN")
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
		row(w, clean(in.ID), clean(in.Host), clean(in.Version), in.Stage, fmt.Sprintf("%g%%", in.Percent), in.Epoch, conv, guard,
			fmt.Sprintf("%.2f%%", in.DistErrorRate*100), p99, in.LocalSessions, when(in.LastSeen))
	}
}
