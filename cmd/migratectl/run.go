package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/sessionmigrate/sessionmigrate/config"
)

// envPrefix prefixes migratectl's environment variables.
const envPrefix = "MIGRATECTL"

const rootLong = `migratectl operates a sessionmigrate migration: it shows and changes the
migration state that every application instance follows, through the control
plane in Redis. Every change is compare-and-set, audited (history) and
announced to the instances.

Stages, in order: local -> shadow -> dual -> ramp (0-100%) -> complete.
Forward moves go one stage at a time; any backward move is allowed; leaving
complete, and reaching it without a clean diff, need --force. Changes need
--reason and accept --dry-run, which shows current -> next and writes nothing.

Configuration, each overriding the one before: defaults, the YAML file
(--config or MIGRATECTL_CONFIG), MIGRATECTL_* environment variables (key path
with dots as underscores, upper case: redis.addrs -> MIGRATECTL_REDIS_ADDRS or
MIGRATECTL_REDIS_ADDR), flags. The Redis password is read from
MIGRATECTL_REDIS_PASSWORD or --redis-password-file, never from a flag.

Jobs that must run where the sessions are (diff, backfill, repair) are
requested through the control plane and run inside every live instance;
--wait follows one with progress, "jobs" lists, shows and cancels them.

Exit codes:
  0  success (a dry run that would succeed included)
  1  error: Redis unreachable, corrupt state, concurrent change, timeout
  2  usage: bad arguments, flags, input or configuration
  3  refused by a guard rail: stage order, no clean diff, leaving complete,
     advancing while an instance's guard is paused or tripped, a job of the
     same kind running
  4  a backfill or repair waited for ended without finishing (an instance
     left, canceled, failed)
  diff --wait: 0 clean, else 32 + a bit per kind found: 1 missing, 2 stale,
     4 extra, 8 data or unreadable, 16 expiry; + 64 when partial (an
     instance left, canceled, failed). 33..127, apart from 1..4.
  preflight: 0 when no check failed (--strict: nor warned), else 16 + a bit
     per area with a failure: 1 connection, 2 capacity, 4 topology, 8
     fleet. 17..31.`

// run is migratectl: it executes args (without the program name) and
// returns the exit code. Everything it touches is passed in, so tests run it
// in-process; it holds no state between calls and is safe to call
// concurrently.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) string) int {
	return (&app{stdin: stdin, stdout: stdout, stderr: stderr, env: env}).run(args)
}

// run executes args with a's I/O and environment and returns the exit code.
func (a *app) run(args []string) int {
	stdin, stdout, stderr := a.stdin, a.stdout, a.stderr
	defer a.close()
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if _, err := root.ExecuteC(); err != nil {
		return report(stderr, err)
	}
	return exitOK
}

// rootCommand builds the command tree for one invocation.
func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "migratectl",
		Short:         "Operate a sessionmigrate migration (local sessions to Redis)",
		Long:          rootLong,
		SilenceErrors: true,
		SilenceUsage:  true,
		// Commands run without a shell-completion subcommand: it would need
		// a writable profile and adds nothing an operator needs here.
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return usagef("%v", err)
	})
	pf := root.PersistentFlags()
	pf.StringVar(&a.configFile, "config", "", "configuration file (YAML; default $MIGRATECTL_CONFIG)")
	config.AddFlags(pf)
	pf.StringP("output", "o", "", "output format: table, json or yaml (default table)")
	pf.String("actor", "", "who is making the change, recorded in the audit log (default $USER@hostname)")
	pf.Duration("timeout", 0, "bound on the whole command (default 10s)")
	for name, key := range map[string]string{"output": "cli.output", "actor": "cli.actor", "timeout": "cli.timeout"} {
		if err := config.MarkFlag(pf, name, key); err != nil {
			panic(err) // a key above is misspelt: caught by every test
		}
	}
	root.AddCommand(
		a.statusCommand(),
		a.instancesCommand(),
		a.stageCommand(),
		a.rampCommand(),
		a.rollbackCommand(),
		a.resumeCommand(),
		a.historyCommand(),
		a.diffCommand(),
		a.backfillCommand(),
		a.repairCommand(),
		a.jobsCommand(),
		a.routeCommand(),
		a.configCommand(),
		a.preflightCommand(),
		a.finishCommand(),
		a.versionCommand(),
		a.demoCommand(),
	)
	return root
}
