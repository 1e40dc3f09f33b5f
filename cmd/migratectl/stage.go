package main

import (
	"github.com/spf13/cobra"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// stageCommand is `migratectl stage <name>`.
func (a *app) stageCommand() *cobra.Command {
	var f changeFlags
	cmd := &cobra.Command{
		Use:   "stage <local|shadow|dual|ramp|complete>",
		Short: "Move the migration to a stage",
		Long: `Move the migration to a stage. Forward moves go one stage at a time:
local -> shadow -> dual -> ramp -> complete. Any backward move is allowed.
"stage ramp" keeps the current percentage (0 when coming from dual); use
"ramp <percent>" to change it. complete needs ramp 100% and a clean diff
recorded after it; leaving complete is refused. --force overrides both.`,
		Args: cobra.ExactArgs(1),
	}
	addChangeFlags(cmd, &f, true)
	cmd.RunE = a.runE(func(cmd *cobra.Command, args []string) error {
		stage, err := parseStage(args[0])
		if err != nil {
			return err
		}
		return a.move(cmd, "stage", f, func(cur control.State) (string, float64) {
			percent := 0.0
			if cur.Stage == control.StageRamp || cur.Stage == control.StageComplete {
				percent = cur.Percent
			}
			return stage, control.PercentFor(stage, percent)
		})
	})
	return cmd
}
