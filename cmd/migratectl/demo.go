package main

import (
	"log/slog"
	"os"
	"os/signal"

	"github.com/spf13/cobra"

	"github.com/sessionmigrate/sessionmigrate/internal/demo"
)

// demoCommand is `migratectl demo`: the narrated walkthrough of a whole
// migration under load (package internal/demo). It needs no configuration
// and no Redis of its own: it starts one.
func (a *app) demoCommand() *cobra.Command {
	var opts demo.Options
	var fault string
	var embedded, verbose bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a whole migration under load on a throwaway Redis, narrated (~20 s)",
		Long: `Starts a redis-server on a free loopback port (or, without one installed,
an embedded in-process Redis), three application instances with simulated
users, and walks through every stage as an operator would — shadow, dual,
backfill, ramp, a Redis fault that every instance's guard rolls back on its
own, resume, complete — counting failed requests, logouts, lost writes and
resurrected sessions, which must all stay 0. Exit code 1 if any is not.`,
		Args: cobra.ExactArgs(0),
		RunE: a.runE(func(cmd *cobra.Command, _ []string) error {
			switch fault {
			case "outage":
				opts.Fault = demo.FaultOutage
			case "latency":
				opts.Fault = demo.FaultLatency
			default:
				return usagef("--fault %q: must be outage or latency", fault)
			}
			opts.ForceMiniredis = embedded
			if verbose {
				opts.Logger = slog.New(slog.NewTextHandler(a.stderr, nil))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			if err := demo.Run(ctx, a.stdout, opts); err != nil {
				return failf("%v", err)
			}
			return nil
		}),
	}
	f := cmd.Flags()
	f.IntVar(&opts.Instances, "instances", 0, "application instances (default 3)")
	f.IntVar(&opts.Users, "users", 0, "simulated users per instance (default 5)")
	f.DurationVar(&opts.StepDuration, "step", 0, "how long load runs in each step (default 1.5s)")
	f.StringVar(&fault, "fault", "outage", "the Redis fault the guards must catch: outage or latency")
	f.BoolVar(&embedded, "embedded", false, "use the embedded in-process Redis even when redis-server is installed")
	f.BoolVar(&verbose, "verbose", false, "also print the components' logs (stderr)")
	return cmd
}
