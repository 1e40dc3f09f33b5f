package migrate

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionmigrate/sessionmigrate/consistency"
	"github.com/sessionmigrate/sessionmigrate/migrate/guard"
	"github.com/sessionmigrate/sessionmigrate/router"
)

// Defaults of the Options the Migrator applies itself. The other settings
// pass through to the package that uses them, whose defaults apply
// (router, consistency, guard): each field's comment names its default.
// Package config derives its defaults from these, so that a configuration
// file without a key and Options without a field mean the same thing.
const (
	DefaultPollInterval = 5 * time.Second
	DefaultFlagTimeout  = 2 * time.Second
	DefaultCloseTimeout = 5 * time.Second
	// DefaultSalt is the bucketing salt; every instance and migratectl
	// must agree on it.
	DefaultSalt = "sessionmigrate"
)

// Options configures a Migrator. Every zero value has a documented default;
// New validates the rest and returns an error naming the bad field.
type Options struct {
	// Flags is the OpenFeature client whose FlagStage and FlagPercent the
	// Migrator follows. Nil: the Migrator stays at Stage/Percent below until
	// SetStage is called (useful in tests and single-process setups).
	Flags *openfeature.Client
	// EvaluationContext is passed to every flag evaluation (for example a
	// targeting key naming the service or instance — never a session id).
	EvaluationContext openfeature.EvaluationContext
	// Stage and Percent are in effect until the flags are first read
	// (default local, 0). They are also what a missing flag falls back to.
	Stage   Stage
	Percent float64
	// PollInterval is how often flags are re-read as a safety net besides
	// provider change events (default DefaultPollInterval, 5s).
	PollInterval time.Duration
	// FlagTimeout bounds one flag evaluation round (default
	// DefaultFlagTimeout, 2s).
	FlagTimeout time.Duration

	// Salt is prepended to session ids before bucketing. Every instance of an
	// application must use the same salt. Default DefaultSalt
	// ("sessionmigrate").
	Salt string
	// DistTimeout bounds synchronous distributed calls on the request path in
	// dual and ramp (default router.DefaultDistTimeout, 100ms): beyond it
	// the request goes on with local.
	DistTimeout time.Duration
	// MaxTTL is the lifetime given to a record written with a zero ExpiresAt
	// (default router.DefaultMaxTTL, 24h). It is resolved once, so both
	// stores keep the same absolute expiry.
	MaxTTL time.Duration
	// QueueSize bounds the async writer queue (default
	// router.DefaultQueueSize, 10000 sessions); AsyncWorkers is its number
	// of goroutines (default router.DefaultWorkers, 4).
	QueueSize    int
	AsyncWorkers int
	// RepairInterval is how often unsynced sessions are retried (default
	// router.DefaultRepairInterval, 1s, backing off to 30s while the
	// distributed store fails).
	RepairInterval time.Duration
	// MaxUnsynced bounds the set of sessions whose distributed copy may be
	// older than local (default router.DefaultMaxUnsynced, 500,000: about
	// 110 bytes each for scs tokens). When it is full a write is still
	// applied to local and acknowledged, but left untracked (metric
	// sessionmigrate_unsynced_overflow_total); complete is refused until a
	// reconciliation pass has copied every local session, which starts by
	// itself once the set has drained to half. A delete that finds it full
	// is applied to the distributed store at once, and fails the caller's
	// Delete if that fails (router.ErrDeleteNotPropagated).
	MaxUnsynced int
	// ShadowSample compares one shadow read in ShadowSample (default
	// router.DefaultShadowSample, 100).
	ShadowSample int
	// Comparator decides whether a local and a distributed record hold the
	// same session (default: equal bytes). See consistency.Comparator.
	Comparator func(local, distributed []byte) bool
	// CompareQueue bounds pending comparisons (default
	// consistency.DefaultQueue, 1000); CompareDelay is how long a mismatch
	// waits before it is re-checked (default 2*DistTimeout+50ms, 250ms with
	// the default DistTimeout, so that a synchronous write still under way
	// is not mistaken for a stale copy; keep it above DistTimeout).
	CompareQueue int
	CompareDelay time.Duration

	// Registerer receives the Migrator's Prometheus collectors (see the
	// README's metrics table). New registers them once they can be
	// scraped; Close unregisters them, so a later Migrator can register
	// on the same Registerer. Nil: a private registry, not exported.
	Registerer prometheus.Registerer
	// Guard configures the automatic rollback; the zero value is the
	// migration plan's defaults (see package guard). Its callbacks and
	// clock are set by the Migrator.
	Guard guard.Settings
	// DisableGuard turns the automatic rollback off.
	DisableGuard bool
	// Publisher, when set, records guard trips in the control plane so
	// every instance rolls back (control.Client is one).
	Publisher Publisher

	// Logger receives stage changes, flag errors and guard events; never a
	// session id. Its handler is never called with a lock of the Migrator
	// held, so it may call the Migrator back. Default: discard.
	Logger *slog.Logger
	// Now is the clock (default time.Now). Writes to a local store that
	// implements store.SetterAt (memstore) are judged by it, so a custom
	// clock should also be the local store's.
	Now func() time.Time
	// CloseTimeout bounds how long Close waits for queues to drain
	// (default DefaultCloseTimeout, 5s).
	CloseTimeout time.Duration
}

func (o *Options) setDefaults() error {
	if o.Stage == "" {
		o.Stage = Local
	}
	if !o.Stage.Valid() {
		return fmt.Errorf("migrate: Options.Stage %q is not a stage (allowed: local, shadow, dual, ramp, complete)", o.Stage)
	}
	if _, err := router.Cut(o.Percent); err != nil {
		return fmt.Errorf("migrate: Options.Percent: %w", err)
	}
	durs := []struct {
		d    *time.Duration
		def  time.Duration
		name string
	}{
		{&o.PollInterval, DefaultPollInterval, "PollInterval"},
		{&o.FlagTimeout, DefaultFlagTimeout, "FlagTimeout"},
		{&o.DistTimeout, router.DefaultDistTimeout, "DistTimeout"},
		{&o.MaxTTL, router.DefaultMaxTTL, "MaxTTL"},
		{&o.RepairInterval, router.DefaultRepairInterval, "RepairInterval"},
		{&o.CloseTimeout, DefaultCloseTimeout, "CloseTimeout"},
	}
	for _, f := range durs {
		if *f.d < 0 {
			return fmt.Errorf("migrate: Options.%s must not be negative, got %v", f.name, *f.d)
		}
		if *f.d == 0 {
			*f.d = f.def
		}
	}
	ints := []struct {
		p    *int
		def  int
		name string
	}{
		{&o.QueueSize, router.DefaultQueueSize, "QueueSize"},
		{&o.AsyncWorkers, router.DefaultWorkers, "AsyncWorkers"},
		{&o.ShadowSample, router.DefaultShadowSample, "ShadowSample"},
		{&o.MaxUnsynced, router.DefaultMaxUnsynced, "MaxUnsynced"},
		{&o.CompareQueue, consistency.DefaultQueue, "CompareQueue"},
	}
	for _, f := range ints {
		if *f.p < 0 {
			return fmt.Errorf("migrate: Options.%s must not be negative, got %d", f.name, *f.p)
		}
		if *f.p == 0 {
			*f.p = f.def
		}
	}
	if o.CompareDelay < 0 {
		return fmt.Errorf("migrate: Options.CompareDelay must not be negative, got %v", o.CompareDelay)
	}
	if o.CompareDelay == 0 {
		o.CompareDelay = compareDelay(o.DistTimeout)
	}
	if o.Salt == "" {
		o.Salt = DefaultSalt
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	return nil
}

// compareDelay is the default CompareDelay for a DistTimeout: a write on
// the request path at the compared read has landed or timed out by then,
// with room for the re-check's own read.
func compareDelay(distTimeout time.Duration) time.Duration {
	return 2*distTimeout + 50*time.Millisecond
}

// ErrNotVersioned is returned by New when a store does not implement
// store.Versioned.
var ErrNotVersioned = errors.New("migrate: store does not implement store.Versioned")
