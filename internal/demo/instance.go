package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/migrate"
	"github.com/sessionmigrate/sessionmigrate/migrate/control"
	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// Timings of the demo's instances: short enough that every change shows
// within a step, and the same mechanisms as in production (pub/sub notice
// first, polling as the safety net).
const (
	controlPoll       = 500 * time.Millisecond
	flagPoll          = time.Second
	heartbeatInterval = 250 * time.Millisecond
	repairInterval    = 250 * time.Millisecond
)

// instance is one application instance, embedded the way
// examples/sessionapp embeds sessionmigrate: a memstore as the local store,
// a redisstore on the instance's own Redis client as the distributed one
// (wrapped in a faultstore so the demo can break it), and a Migrator that
// follows the control plane through an isolated OpenFeature API, publishes
// guard trips and sends heartbeats.
type instance struct {
	id    string
	rdb   *redis.Client
	local *memstore.Store
	dist  *redisstore.Store
	fault *faultstore.Store
	reg   *prometheus.Registry
	api   *openfeature.EvaluationAPI
	m     *migrate.Migrator
	hb    *control.Heartbeater
}

// startInstance builds and starts instance number n (1-based) against b.
// On error everything already started is stopped.
func startInstance(ctx context.Context, b *backend, n int, logger *slog.Logger) (_ *instance, err error) {
	in := &instance{id: fmt.Sprintf("app-%d", n), rdb: b.client(), local: memstore.New(), reg: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			in.Close()
		}
	}()
	logger = logger.With("instance", in.id)
	ctl, err := control.New(in.rdb, control.Options{Logger: logger, PollInterval: controlPoll})
	if err != nil {
		return nil, fmt.Errorf("demo: %s: %w", in.id, err)
	}
	in.api = isolated.NewAPI()
	if err := in.api.SetProviderAndWait(ctx, ctl.NewProvider()); err != nil {
		return nil, fmt.Errorf("demo: %s: control plane provider: %w", in.id, err)
	}
	in.dist = redisstore.New(in.rdb, redisstore.Options{Timeout: b.slack(redisstore.DefaultTimeout)})
	in.fault = faultstore.New(in.dist)
	opts := migrate.Options{
		Flags:             in.api.NewClient(),
		EvaluationContext: openfeature.NewTargetlessEvaluationContext(map[string]any{"instance": in.id}),
		PollInterval:      flagPoll,
		RepairInterval:    repairInterval,
		Registerer:        in.reg,
		Publisher:         migrate.ControlPublisher(ctl, in.id),
		Logger:            logger,
	}
	if !b.real {
		// The embedded miniredis runs Lua in an interpreter inside this
		// process: far slower than Redis. Give it room so the guard judges
		// failures, not the emulator's speed.
		opts.DistTimeout = b.slack(500 * time.Millisecond)
		opts.Guard.SlowThreshold = b.slack(250 * time.Millisecond)
	}
	in.m, err = migrate.New(in.local, in.fault, opts)
	if err != nil {
		return nil, fmt.Errorf("demo: %s: %w", in.id, err)
	}
	host, _ := os.Hostname()
	in.hb, err = ctl.NewHeartbeater(control.HeartbeaterOptions{
		Collect:  in.m.HeartbeatCollector(in.id, host, "demo"),
		Interval: heartbeatInterval,
	})
	if err != nil {
		return nil, fmt.Errorf("demo: %s: %w", in.id, err)
	}
	in.hb.Start()
	return in, nil
}

// Close stops the instance in the order a clean shutdown takes: heartbeats
// (the instance leaves the list), the Migrator (its queues drain into
// Redis), the flag provider, the local store, the Redis client.
func (in *instance) Close() error {
	var errs []error
	if in.hb != nil {
		errs = append(errs, in.hb.Close())
	}
	if in.m != nil {
		errs = append(errs, in.m.Close())
	}
	if in.api != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, in.api.Shutdown(ctx))
		cancel()
	}
	errs = append(errs, in.local.Close(), in.rdb.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("demo: closing %s: %w", in.id, err)
	}
	return nil
}
