package config

import (
	"time"

	"github.com/sessionmigrate/sessionmigrate/consistency"
	"github.com/sessionmigrate/sessionmigrate/migrate"
	"github.com/sessionmigrate/sessionmigrate/migrate/control"
	"github.com/sessionmigrate/sessionmigrate/migrate/guard"
	"github.com/sessionmigrate/sessionmigrate/router"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// Config is the one configuration shared by applications embedding the
// toolkit and by migratectl. [Load] fills every field, defaults included, so
// a loaded Config never relies on zero values meaning "default" (except
// migration.compare_delay, whose default follows migration.dist_timeout);
// [Default] returns the defaults alone. The defaults are those of the
// types each section configures (migrate.Options, redisstore.Options,
// control.Options, guard.Settings), taken from their packages.
//
// Each field's configuration key is its mapstructure tag path, for example
// Redis.TLS.CAFile is "redis.tls.ca_file". The yaml and json tags carry the
// same names, so the output of `migratectl config validate -o yaml` is a
// valid configuration file.
type Config struct {
	// File is the configuration file Load read, empty when none. It is not
	// a configuration key.
	File string `mapstructure:"-" yaml:"-" json:"-"`

	Redis     Redis     `mapstructure:"redis" yaml:"redis" json:"redis"`
	Store     Store     `mapstructure:"store" yaml:"store" json:"store"`
	Control   Control   `mapstructure:"control" yaml:"control" json:"control"`
	Migration Migration `mapstructure:"migration" yaml:"migration" json:"migration"`
	Guard     Guard     `mapstructure:"guard" yaml:"guard" json:"guard"`
	CLI       CLI       `mapstructure:"cli" yaml:"cli" json:"cli"`
}

// Redis says how to reach the distributed store and the control plane.
// Exactly one topology applies: a standalone server (one address), a
// sentinel-watched master (MasterName set, Addrs are the sentinels) or a
// Redis Cluster (Cluster true, Addrs are seed nodes).
type Redis struct {
	// Addrs are host:port addresses; in environment variables and flags a
	// comma-separated list. Required; no default, so that nothing ever
	// talks to a Redis nobody chose.
	Addrs []string `mapstructure:"addrs" yaml:"addrs" json:"addrs"`
	// MasterName is the sentinel master name; empty when not using sentinel.
	MasterName string `mapstructure:"master_name" yaml:"master_name" json:"master_name"`
	// Cluster selects the Redis Cluster client.
	Cluster bool `mapstructure:"cluster" yaml:"cluster" json:"cluster"`
	// Username is the ACL user; empty means the default user.
	Username string `mapstructure:"username" yaml:"username" json:"username"`
	// Password is the ACL or requirepass password. It is accepted from the
	// environment (<PREFIX>_REDIS_PASSWORD) only: Load refuses it in the
	// configuration file, and no flag sets it. Prefer PasswordFile.
	Password string `mapstructure:"password" yaml:"password,omitempty" json:"password,omitempty"`
	// PasswordFile names a file holding the password (trailing newline
	// ignored), read when the client is built. Mutually exclusive with
	// Password.
	PasswordFile string `mapstructure:"password_file" yaml:"password_file" json:"password_file"`
	// DB is the database number of a standalone or sentinel server; a
	// cluster only has 0.
	DB int `mapstructure:"db" yaml:"db" json:"db"`
	// TLS configures encrypted connections.
	TLS TLS `mapstructure:"tls" yaml:"tls" json:"tls"`
	// DialTimeout bounds establishing one connection. Default 2s, so that an
	// unreachable Redis fails fast.
	DialTimeout time.Duration `mapstructure:"dial_timeout" yaml:"dial_timeout" json:"dial_timeout"`
	// ReadTimeout and WriteTimeout bound socket reads and writes. Default 3s.
	ReadTimeout  time.Duration `mapstructure:"read_timeout" yaml:"read_timeout" json:"read_timeout"`
	WriteTimeout time.Duration `mapstructure:"write_timeout" yaml:"write_timeout" json:"write_timeout"`
	// PoolSize is the connection pool size per node; 0 means go-redis's
	// default (10 per GOMAXPROCS).
	PoolSize int `mapstructure:"pool_size" yaml:"pool_size" json:"pool_size"`
}

// TLS configures TLS to Redis. The files are read when the client is built
// (and by Validate), so an unreadable file is reported up front.
type TLS struct {
	// Enabled turns TLS on; the other fields are refused while it is off.
	Enabled bool `mapstructure:"enabled" yaml:"enabled" json:"enabled"`
	// CAFile is a PEM bundle of the CAs to trust; empty means the system
	// roots.
	CAFile string `mapstructure:"ca_file" yaml:"ca_file" json:"ca_file"`
	// CertFile and KeyFile are a PEM client certificate and its key, for
	// mutual TLS; both or neither.
	CertFile string `mapstructure:"cert_file" yaml:"cert_file" json:"cert_file"`
	KeyFile  string `mapstructure:"key_file" yaml:"key_file" json:"key_file"`
	// ServerName overrides the name checked against the server certificate.
	ServerName string `mapstructure:"server_name" yaml:"server_name" json:"server_name"`
	// InsecureSkipVerify disables certificate verification. For tests only.
	InsecureSkipVerify bool `mapstructure:"insecure_skip_verify" yaml:"insecure_skip_verify" json:"insecure_skip_verify"`
}

// Store configures the session data in Redis (see package redisstore).
type Store struct {
	// Prefix is prepended to session IDs to form their Redis keys. Default
	// "scs:session:", the prefix of alexedwards/scs's Redis stores.
	Prefix string `mapstructure:"prefix" yaml:"prefix" json:"prefix"`
	// MaxTTL is the lifetime of a session written without an expiry.
	// Default 24h, scs's default session lifetime.
	MaxTTL time.Duration `mapstructure:"max_ttl" yaml:"max_ttl" json:"max_ttl"`
	// Timeout bounds each store call to Redis. Default 1s.
	Timeout time.Duration `mapstructure:"timeout" yaml:"timeout" json:"timeout"`
	// LegacySidecars writes sidecars in the form releases before sidecars
	// carried the expiry can read (redisstore.Options.LegacySidecars). Set
	// it on every instance during a rolling upgrade from such a release
	// while the migration is past local; clear it once no old instance
	// runs. Default false.
	LegacySidecars bool `mapstructure:"legacy_sidecars" yaml:"legacy_sidecars" json:"legacy_sidecars"`
}

// Control configures the control plane (package migrate/control).
type Control struct {
	// Prefix names the control plane: its keys are "{Prefix}:state",
	// "{Prefix}:audit", ... It must not contain '{' or '}'. Default
	// "sessionmigrate".
	Prefix string `mapstructure:"prefix" yaml:"prefix" json:"prefix"`
	// PollInterval is how often instances re-read the state as a safety net
	// for lost change notices. Default 1s.
	PollInterval time.Duration `mapstructure:"poll_interval" yaml:"poll_interval" json:"poll_interval"`
	// HeartbeatInterval is how often instances report; an instance silent
	// for three intervals drops out of `migratectl instances`. Default 5s.
	HeartbeatInterval time.Duration `mapstructure:"heartbeat_interval" yaml:"heartbeat_interval" json:"heartbeat_interval"`
	// Timeout bounds each control-plane call of background loops. Default 2s.
	Timeout time.Duration `mapstructure:"timeout" yaml:"timeout" json:"timeout"`
	// DrainWindow is how long the state must have been ramp 100% before
	// complete is allowed; 0 disables the check. Default 0.
	DrainWindow time.Duration `mapstructure:"drain_window" yaml:"drain_window" json:"drain_window"`
}

// Migration configures the Migrator embedded in applications (package
// migrate, Options of the same names).
type Migration struct {
	// Salt is prepended to session IDs before bucketing. Every instance and
	// migratectl must use the same salt. Default "sessionmigrate".
	Salt string `mapstructure:"salt" yaml:"salt" json:"salt"`
	// PollInterval is how often flags are re-read besides change events.
	// Default 5s.
	PollInterval time.Duration `mapstructure:"poll_interval" yaml:"poll_interval" json:"poll_interval"`
	// FlagTimeout bounds one flag evaluation round. Default 2s.
	FlagTimeout time.Duration `mapstructure:"flag_timeout" yaml:"flag_timeout" json:"flag_timeout"`
	// DistTimeout bounds synchronous distributed calls on the request path.
	// Default 100ms.
	DistTimeout time.Duration `mapstructure:"dist_timeout" yaml:"dist_timeout" json:"dist_timeout"`
	// QueueSize bounds the async writer queue. Default 10000.
	QueueSize int `mapstructure:"queue_size" yaml:"queue_size" json:"queue_size"`
	// AsyncWorkers is the number of async writer goroutines. Default 4.
	AsyncWorkers int `mapstructure:"async_workers" yaml:"async_workers" json:"async_workers"`
	// RepairInterval is how often unsynced sessions are retried. Default 1s.
	RepairInterval time.Duration `mapstructure:"repair_interval" yaml:"repair_interval" json:"repair_interval"`
	// MaxUnsynced bounds the sessions tracked as possibly older in Redis
	// than in local (about 110 bytes each for scs tokens). When it is
	// full, writes are still acknowledged but left untracked, and complete
	// is refused until a reconciliation pass has copied every local
	// session. Default 500000.
	MaxUnsynced int `mapstructure:"max_unsynced" yaml:"max_unsynced" json:"max_unsynced"`
	// ShadowSample compares one shadow read in ShadowSample. Default 100.
	ShadowSample int `mapstructure:"shadow_sample" yaml:"shadow_sample" json:"shadow_sample"`
	// CompareQueue bounds pending comparisons. Default 1000.
	CompareQueue int `mapstructure:"compare_queue" yaml:"compare_queue" json:"compare_queue"`
	// CompareDelay is how long a mismatch waits before it is re-checked;
	// it must be above DistTimeout, so that a write still under way is not
	// mistaken for a stale copy. 0, the default, means 2 × DistTimeout +
	// 50ms (250ms with the default DistTimeout).
	CompareDelay time.Duration `mapstructure:"compare_delay" yaml:"compare_delay" json:"compare_delay"`
	// CloseTimeout bounds how long Close waits for queues to drain.
	// Default 5s.
	CloseTimeout time.Duration `mapstructure:"close_timeout" yaml:"close_timeout" json:"close_timeout"`
}

// Guard configures the automatic rollback; [Config.GuardSettings] maps it
// onto guard.Settings. The defaults are the migration plan's: error rate
// above 1%, p99 above 50ms, availability below 99.9%, 3 confirmed
// inconsistencies within a minute.
type Guard struct {
	// Enabled turns the automatic rollback on. Default true.
	Enabled bool `mapstructure:"enabled" yaml:"enabled" json:"enabled"`
	// Interval is the evaluation period. Default 100ms.
	Interval time.Duration `mapstructure:"interval" yaml:"interval" json:"interval"`
	// ConsecutiveFailures trips at once on that many failures in a row.
	// Default 8.
	ConsecutiveFailures int `mapstructure:"consecutive_failures" yaml:"consecutive_failures" json:"consecutive_failures"`
	// MinWindowOps is the fewest operations an evaluation judges; fewer hold.
	// Default 1.
	MinWindowOps int `mapstructure:"min_window_ops" yaml:"min_window_ops" json:"min_window_ops"`
	// ErrorRate is the failed-operation share to trip on, in (0, 1).
	// Default 0.01.
	ErrorRate float64 `mapstructure:"error_rate" yaml:"error_rate" json:"error_rate"`
	// LatencyThreshold is the latency above which an operation is slow,
	// once the process's own delay during it is taken off. Default 50ms.
	LatencyThreshold time.Duration `mapstructure:"latency_threshold" yaml:"latency_threshold" json:"latency_threshold"`
	// ProcessDelayProbe measures the process's own delay (a busy host, GC
	// pauses) and excuses operations slow only because of it; false judges
	// latencies as measured. Default true.
	ProcessDelayProbe bool `mapstructure:"process_delay_probe" yaml:"process_delay_probe" json:"process_delay_probe"`
	// ProbeInterval is how often that probe wakes: a stall is seen to
	// within it. Default 5ms.
	ProbeInterval time.Duration `mapstructure:"probe_interval" yaml:"probe_interval" json:"probe_interval"`
	// LatencyLimit is the slow-operation share to trip on, in (0, 1);
	// 0.01 reads "p99 above LatencyThreshold". Default 0.01.
	LatencyLimit float64 `mapstructure:"latency_limit" yaml:"latency_limit" json:"latency_limit"`
	// Availability is the answered-operation share below which the guard
	// trips, in (0, 1). Default 0.999.
	Availability float64 `mapstructure:"availability" yaml:"availability" json:"availability"`
	// Sensitivity is the CUSUM trip threshold H of the three rate signals:
	// lower trips sooner on weaker evidence. Default 5.
	Sensitivity float64 `mapstructure:"sensitivity" yaml:"sensitivity" json:"sensitivity"`
	// InconsistencyLimit confirmed inconsistencies within
	// InconsistencyWindow trip the guard. Default 3 within 1m.
	InconsistencyLimit  int           `mapstructure:"inconsistency_limit" yaml:"inconsistency_limit" json:"inconsistency_limit"`
	InconsistencyWindow time.Duration `mapstructure:"inconsistency_window" yaml:"inconsistency_window" json:"inconsistency_window"`
	// InconsistencyPause confirmed inconsistencies within the window pause
	// the ramp; at most InconsistencyLimit. Default 1.
	InconsistencyPause int `mapstructure:"inconsistency_pause" yaml:"inconsistency_pause" json:"inconsistency_pause"`
}

// CLI configures migratectl's own behaviour.
type CLI struct {
	// Output is the output format: table, json or yaml. Default table.
	Output string `mapstructure:"output" yaml:"output" json:"output"`
	// Actor is recorded as who made a change; empty means $USER@hostname.
	Actor string `mapstructure:"actor" yaml:"actor" json:"actor"`
	// Timeout bounds one command. Default 10s.
	Timeout time.Duration `mapstructure:"timeout" yaml:"timeout" json:"timeout"`
}

// Output formats accepted by CLI.Output.
const (
	OutputTable = "table"
	OutputJSON  = "json"
	OutputYAML  = "yaml"
)

// Default returns the configuration every key falls back to. Redis.Addrs is
// empty: it has no default. Every other value is the default of the
// package the key configures, so that a key left out of the file and a
// field left zero in that package's options mean the same.
func Default() Config {
	return Config{
		Redis: Redis{
			Addrs:        []string{},
			DialTimeout:  2 * time.Second,
			ReadTimeout:  3 * time.Second,
			WriteTimeout: 3 * time.Second,
		},
		Store: Store{
			Prefix:  redisstore.DefaultPrefix,
			MaxTTL:  router.DefaultMaxTTL, // migrate.Options.MaxTTL; redisstore's is the same
			Timeout: redisstore.DefaultTimeout,
		},
		Control: Control{
			Prefix:            control.DefaultPrefix,
			PollInterval:      control.DefaultPollInterval,
			HeartbeatInterval: control.DefaultHeartbeatInterval,
			Timeout:           control.DefaultTimeout,
		},
		Migration: Migration{
			Salt:           migrate.DefaultSalt,
			PollInterval:   migrate.DefaultPollInterval,
			FlagTimeout:    migrate.DefaultFlagTimeout,
			DistTimeout:    router.DefaultDistTimeout,
			QueueSize:      router.DefaultQueueSize,
			AsyncWorkers:   router.DefaultWorkers,
			RepairInterval: router.DefaultRepairInterval,
			MaxUnsynced:    router.DefaultMaxUnsynced,
			ShadowSample:   router.DefaultShadowSample,
			CompareQueue:   consistency.DefaultQueue,
			CompareDelay:   0, // derived from DistTimeout by migrate.New
			CloseTimeout:   migrate.DefaultCloseTimeout,
		},
		Guard: Guard{
			Enabled:             true,
			Interval:            guard.DefaultInterval,
			ConsecutiveFailures: guard.DefaultConsecutiveFailures,
			MinWindowOps:        guard.DefaultMinWindowOps,
			ErrorRate:           guard.DefaultErrorRateLimit,
			LatencyThreshold:    guard.DefaultSlowThreshold,
			ProcessDelayProbe:   true,
			ProbeInterval:       guard.DefaultProbeInterval,
			LatencyLimit:        guard.DefaultSlowLimit,
			Availability:        complement(guard.DefaultUnavailableLimit),
			Sensitivity:         guard.DefaultH,
			InconsistencyLimit:  guard.DefaultInconsistencyLimit,
			InconsistencyWindow: guard.DefaultInconsistencyWindow,
			InconsistencyPause:  guard.DefaultInconsistencyPause,
		},
		CLI: CLI{
			Output:  OutputTable,
			Timeout: 10 * time.Second,
		},
	}
}
