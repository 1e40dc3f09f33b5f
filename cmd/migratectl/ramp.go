package main

import (
	"github.com/spf13/cobra"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// rampCommand is `migratectl ramp <percent>`.
func (a *app) rampCommand() *cobra.Command {
	var f changeFlags
	cmd := &cobra.Command{
		Use:   "ramp <percent>",
		Short: "Set the share of sessions read from Redis (stage ramp)",
		Long: `Set the share of sessions read from Redis: 0 to 100 with at most two
decimals ("12.5" or "12.5%"). Allowed from dual (entering ramp) or ramp;
lowering it is always allowed. A session's bucket is pinned, so raising the
percentage only moves sessions from local to Redis.`,
		Args: cobra.ExactArgs(1),
	}
	addChangeFlags(cmd, &f, true)
	cmd.RunE = a.runE(func(cmd *cobra.Command, args []string) error {
		percent, err := parsePercent(args[0])
		if err != nil {
			return err
		}
		return a.move(cmd, "ramp", f, func(control.State) (string, float64) {
			return control.StageRamp, percent
		})
	})
	return cmd
}
