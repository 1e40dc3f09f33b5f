package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/sessionmigrate/sessionmigrate/config"
	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// app is one invocation of migratectl: its I/O, its environment and what
// commands set up on demand. run closes it; nothing outlives the call.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	env            func(string) string
	configFile     string // --config
	// beforeWrite, if set, runs between reading the state and writing a
	// change; tests use it to interleave concurrent commands.
	beforeWrite func()

	cfg *config.Config
	rdb redis.UniversalClient
	ctl *control.Client
}

// lookupEnv adapts the injected environment to config.LoadOptions.
func (a *app) lookupEnv(name string) (string, bool) {
	v := a.env(name)
	return v, v != ""
}

// loadConfig loads and validates the configuration from the file, the
// environment and cmd's flags (which include the global ones). Problems are
// usage errors listing every problem.
func (a *app) loadConfig(cmd *cobra.Command) (*config.Config, error) {
	if a.cfg != nil {
		return a.cfg, nil
	}
	if f := cmd.Flags().Lookup("output"); f != nil && f.Changed {
		switch f.Value.String() {
		case config.OutputTable, config.OutputJSON, config.OutputYAML:
		default:
			return nil, usagef("-o %q: must be table, json or yaml", f.Value.String())
		}
	}
	cfg, err := config.Load(config.LoadOptions{
		File:      a.configFile,
		EnvPrefix: envPrefix,
		Flags:     cmd.Flags(),
		LookupEnv: a.lookupEnv,
	})
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		return nil, &cliError{code: exitUsage, err: errors.New(strings.TrimPrefix(err.Error(), "config: ")), list: true}
	}
	a.cfg = cfg
	return cfg, nil
}

// setup loads the configuration and returns a context bounded by
// cli.timeout; the caller must call cancel.
func (a *app) setup(cmd *cobra.Command) (context.Context, context.CancelFunc, error) {
	cfg, err := a.loadConfig(cmd)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), cfg.CLI.Timeout)
	return ctx, cancel, nil
}

// withControl runs fn with a context bounded by cli.timeout and the
// control-plane client: it loads the configuration and connects first,
// returning their errors without calling fn, and cancels the context when
// fn returns.
func (a *app) withControl(cmd *cobra.Command, fn func(ctx context.Context, ctl *control.Client) error) error {
	ctx, cancel, err := a.setup(cmd)
	if err != nil {
		return err
	}
	defer cancel()
	ctl, err := a.connect(ctx)
	if err != nil {
		return err
	}
	return fn(ctx, ctl)
}

// withState is withControl that also reads the desired state (see state)
// and passes it to fn.
func (a *app) withState(cmd *cobra.Command, fn func(ctx context.Context, ctl *control.Client, cur control.State) error) error {
	return a.withControl(cmd, func(ctx context.Context, ctl *control.Client) error {
		cur, err := a.state(ctx, ctl)
		if err != nil {
			return err
		}
		return fn(ctx, ctl, cur)
	})
}

// connect returns the control-plane client, connecting to Redis first. The
// connection is checked with a PING so that an unreachable Redis fails here,
// fast, with a message naming the address.
func (a *app) connect(ctx context.Context) (*control.Client, error) {
	if a.ctl != nil {
		return a.ctl, nil
	}
	opts, err := a.cfg.RedisOptions()
	if err != nil {
		return nil, usagef("%v", err)
	}
	// One dial attempt per connection, so an unreachable Redis fails within
	// the dial timeout; and no command retries, so a compare-and-set is
	// never re-sent after an ambiguous failure (the retry would report the
	// first attempt's own write as a concurrent change).
	opts.DialerRetries = 1
	opts.MaxRetries = -1
	a.rdb = redis.NewUniversalClient(opts)
	if err := a.rdb.Ping(ctx).Err(); err != nil {
		var netErr net.Error
		if errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) {
			return nil, failf("cannot reach Redis at %s: %v", a.redisTarget(), err)
		}
		// Reached, but refused: authentication, ACL, a loading replica.
		return nil, failf("Redis at %s refused the connection: %v", a.redisTarget(), err)
	}
	ctl, err := control.New(a.rdb, control.Options{
		Prefix:       a.cfg.Control.Prefix,
		PollInterval: a.cfg.Control.PollInterval,
		Timeout:      a.cfg.Control.Timeout,
		DrainWindow:  a.cfg.Control.DrainWindow,
	})
	if err != nil {
		return nil, usagef("%v", err)
	}
	a.ctl = ctl
	return ctl, nil
}

// redisTarget describes the configured Redis for messages.
func (a *app) redisTarget() string {
	r := a.cfg.Redis
	addrs := strings.Join(r.Addrs, ",")
	switch {
	case r.MasterName != "":
		return fmt.Sprintf("sentinels %s (master %q)", addrs, r.MasterName)
	case r.Cluster:
		return "cluster " + addrs
	}
	return addrs
}

// state reads the desired state, turning a corrupt value into a message
// that names the key and what is wrong with it.
func (a *app) state(ctx context.Context, ctl *control.Client) (control.State, error) {
	s, err := ctl.State(ctx)
	if err != nil {
		return control.State{}, a.explain(err)
	}
	return s, nil
}

// runE adapts a command body for cobra: every error it returns leaves with
// an exit code and a message an operator can act on.
func (a *app) runE(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		return classify(a.explain(fn(cmd, args)))
	}
}

// explain rewrites control-plane errors an operator cannot act on as they
// are: corrupt records (naming the key) and timeouts (naming the bound).
func (a *app) explain(err error) error {
	var ce *cliError
	if err == nil || a.ctl == nil || errors.As(err, &ce) {
		return err
	}
	switch {
	case errors.Is(err, control.ErrCorruptState) && strings.Contains(err.Error(), "control: job"):
		// A job's records live under their own keys; the state is fine.
		return failf("a job record is corrupt: %s", after(err.Error(), control.ErrCorruptState.Error()+": "))
	case errors.Is(err, control.ErrCorruptState):
		key, what := a.ctl.StateKey(), "state"
		if strings.Contains(err.Error(), "last diff") {
			// The key layout is documented in package control.
			key, what = "{"+a.cfg.Control.Prefix+"}:lastdiff", "last diff record"
		}
		return failf("%s key %q is corrupt: %s (instances keep their last good state; the key must be repaired, see control.Client.Repair)",
			what, key, after(err.Error(), control.ErrCorruptState.Error()+": "))
	case errors.Is(err, context.DeadlineExceeded):
		return failf("%v (the command's bound is --timeout %s)", err, a.cfg.CLI.Timeout)
	}
	return err
}

// actor is who a change is recorded as: cli.actor, else $USER@hostname.
func (a *app) actor() string {
	if a.cfg.CLI.Actor != "" {
		return a.cfg.CLI.Actor
	}
	user := a.env("USER")
	if user == "" {
		user = a.env("LOGNAME")
	}
	if user == "" {
		user = "unknown"
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		return user
	}
	return user + "@" + host
}

// close releases the Redis client, if one was made.
func (a *app) close() {
	if a.rdb != nil {
		a.rdb.Close()
	}
}
