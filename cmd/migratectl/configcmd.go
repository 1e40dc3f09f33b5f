package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/sessionmigrate/sessionmigrate/config"
)

// configCommand is `migratectl config` and its subcommand validate.
func (a *app) configCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Inspect the configuration",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q for \"migratectl config\" (see migratectl config --help)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "validate",
		Short: "Check the configuration; print it (secrets redacted) with -o yaml or json",
		Long: `Load the configuration from the file, the MIGRATECTL_* environment and the
flags, and report every problem at once (exit 2), each naming its key. With
-o yaml or -o json, print the effective configuration with secrets redacted;
the YAML form is itself a valid configuration file (minus the password).
Does not connect to Redis.`,
		Args: cobra.ExactArgs(0),
		RunE: a.runE(func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfig(cmd)
			if err != nil {
				return err
			}
			red := cfg.Redacted()
			switch cfg.CLI.Output {
			case config.OutputYAML:
				b, err := yaml.Marshal(red)
				if err != nil {
					return failf("write output: %v", err)
				}
				_, err = a.stdout.Write(b)
				return err
			case config.OutputJSON:
				return writeConfigJSON(a.stdout, red)
			}
			file := cfg.File
			if file == "" {
				file = "none (defaults, environment and flags)"
			}
			fmt.Fprintf(a.stdout, "configuration is valid\nfile: %s\nredis: %s\ncontrol prefix: %s\n",
				file, a.redisTarget(), cfg.Control.Prefix)
			return nil
		}),
	})
	return cmd
}

// writeConfigJSON writes the configuration as JSON with the same keys and
// value forms as the YAML file ("2s", not nanoseconds): it goes through
// YAML.
func writeConfigJSON(w io.Writer, c config.Config) error {
	b, err := yaml.Marshal(c)
	if err != nil {
		return failf("write output: %v", err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return failf("write output: %v", err)
	}
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return failf("write output: %v", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", out)
	return err
}
