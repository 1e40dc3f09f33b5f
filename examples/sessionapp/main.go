// Command sessionapp is a small web application on alexedwards/scs whose
// sessions move from its process memory to Redis while it serves. It is
// the reference for embedding sessionmigrate in an scs application, and
// the application the end-to-end tests run, several instances at once:
//
//   - scs.SessionManager with scsstore.New(migrator) as its store;
//   - the Migrator over a memstore (local) and a redisstore (Redis),
//     following the control plane through its OpenFeature provider,
//     publishing guard trips and heartbeats, and running the control
//     plane's jobs (backfill, diff, repair);
//   - the shared configuration (--config, SESSIONMIGRATE_* environment,
//     flags), with no default Redis address;
//   - an admin listener with /metrics and /status.
//
// Endpoints: POST /login (form user=NAME; renews the token), GET /session
// (401 without a session), POST /incr, POST /rotate (renews the token),
// POST /logout (destroys the session); the session answers are JSON
// {"u": user, "n": counter, "exp": expiry}. See README.md.
//
// On start it prints one line, "sessionapp listening on ADDR admin on
// ADDR", so a supervisor that asked for port 0 can find it. Exit codes: 0
// after SIGINT/SIGTERM or --help, 1 on a runtime error, 2 on a usage or
// configuration error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/adapters/scsstore"
	"github.com/sessionmigrate/sessionmigrate/migrate"
	"github.com/sessionmigrate/sessionmigrate/migrate/control"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv))
}

// run is main with its inputs injected; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	s, help, err := parseSettings(args, stdout, lookupEnv)
	var usage usageError
	switch {
	case help:
		return 0
	case errors.As(err, &usage):
		fmt.Fprintln(stderr, "sessionapp:", err)
		return 2
	case err != nil:
		fmt.Fprintln(stderr, "sessionapp:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, s, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "sessionapp:", err)
		return 1
	}
	return 0
}

// serve builds the application, serves until ctx ends and shuts down.
func serve(ctx context.Context, s settings, stdout, stderr io.Writer) error {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("instance", s.instance)

	rdb, err := redisClient(s)
	if err != nil {
		return err
	}
	defer rdb.Close()
	crdb := rdb
	if s.controlRedisAddr != "" {
		crdb = redis.NewClient(&redis.Options{Addr: s.controlRedisAddr, ContextTimeoutEnabled: true,
			DialTimeout: s.cfg.Redis.DialTimeout})
		defer crdb.Close()
	}

	ctl, err := control.New(crdb, control.Options{Prefix: s.cfg.Control.Prefix, Logger: logger,
		PollInterval: s.cfg.Control.PollInterval, Timeout: s.cfg.Control.Timeout})
	if err != nil {
		return err
	}
	provider := ctl.NewProvider()
	api := isolated.NewAPI()
	initCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = api.SetProviderAndWait(initCtx, provider)
	cancel()
	if err != nil {
		return fmt.Errorf("control plane provider: %w", err)
	}
	defer api.Shutdown(context.Background())

	local := memstore.New()
	defer local.Close()
	dist := redisstore.New(rdb, s.cfg.StoreOptions())
	reg := prometheus.NewRegistry()
	opts := s.cfg.MigrateOptions()
	opts.Flags = api.NewClient()
	opts.Registerer = reg
	opts.Publisher = migrate.ControlPublisher(ctl, s.instance)
	opts.Logger = logger
	m, err := migrate.New(local, dist, opts)
	if err != nil {
		return err
	}
	closed := false
	defer func() {
		if !closed {
			m.Close()
		}
	}()

	hb, err := ctl.NewHeartbeater(control.HeartbeaterOptions{
		Collect:  heartbeat(m, provider, s.instance),
		Interval: s.cfg.Control.HeartbeatInterval,
	})
	if err != nil {
		return err
	}
	hb.Start()
	defer hb.Close()
	jobs, err := m.StartJobs(ctl, migrate.JobRunnerOptions{Instance: s.instance}) // backfill, diff, repair
	if err != nil {
		return err
	}
	defer jobs.Close()

	sm := scs.New()
	sm.Store = scsstore.New(m)
	sm.Lifetime = s.lifetime
	s.cookie.apply(sm)

	ln, err := net.Listen("tcp", s.listen)
	if err != nil {
		return err
	}
	aln, err := net.Listen("tcp", s.admin)
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: newApp(sm, logger).routes(), ReadHeaderTimeout: 5 * time.Second}
	adm := &http.Server{Handler: m.AdminHandler(reg), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 2)
	go func() { served <- srv.Serve(ln) }()
	go func() { served <- adm.Serve(aln) }()
	fmt.Fprintf(stdout, "sessionapp listening on %s admin on %s\n", ln.Addr(), aln.Addr())
	logger.Info("sessionapp started", "stage", string(m.State().Stage))

	<-ctx.Done()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	err = errors.Join(srv.Shutdown(sctx), adm.Shutdown(sctx))
	for range 2 {
		if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
	}
	// No request runs any more: drain what Redis has not taken yet, so a
	// restart (a deploy) loses no write. Sessions Redis would not take are
	// reported: their newest write dies with this process.
	jobs.Close() // job parts stop before the Migrator they use
	closed = true
	if cerr := m.Close(); cerr != nil {
		logger.Error("sessionapp: sessions not saved to Redis before exit", "error", cerr.Error())
		err = errors.Join(err, cerr)
	}
	return err
}

// redisClient returns the sessions' Redis client from the configuration.
// A request-path Redis call is never retried: the Migrator bounds it by
// the dist timeout and serves from local instead, and the guard must see
// every failure.
func redisClient(s settings) (redis.UniversalClient, error) {
	opts, err := s.cfg.RedisOptions()
	if err != nil {
		return nil, err
	}
	opts.MaxRetries = -1
	return redis.NewUniversalClient(opts), nil
}

// heartbeat returns what the instance reports to the control plane.
func heartbeat(m *migrate.Migrator, provider *control.Provider, instance string) func() control.Heartbeat {
	host, _ := os.Hostname()
	collect := m.HeartbeatCollector(instance, host, "sessionapp")
	return func() control.Heartbeat {
		h := collect()
		// The provider keeps serving the last good state when the stored
		// one is corrupt or unreadable; say so to operators.
		if err := provider.LastError(); err != nil && h.LastStateError == "" {
			h.LastStateError = err.Error()
		}
		return h
	}
}
