package config

import (
	"github.com/sessionmigrate/sessionmigrate/migrate"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// LoadMigrator reads the configuration an application embedding the
// Migrator shares with migratectl — the YAML file (optional: "" reads the
// file named by SESSIONMIGRATE_CONFIG, or none), then SESSIONMIGRATE_*
// environment variables — validates it, and returns the Options for
// migrate.New ([Config.MigrateOptions]) with the whole configuration for
// the rest: [Config.RedisClient], [Config.StoreOptions] for the
// distributed store, cfg.Control for the control plane. The caller still
// sets the injected parts: Flags, Registerer, Publisher, Logger. Errors
// name the key and the allowed values.
//
// It lives here rather than in package migrate so that embedding the
// Migrator does not link the configuration libraries (viper and what it
// pulls in); applications that build migrate.Options themselves never
// import this package.
func LoadMigrator(file string) (migrate.Options, *Config, error) {
	cfg, err := Load(LoadOptions{File: file, EnvPrefix: DefaultEnvPrefix})
	if err != nil {
		return migrate.Options{}, nil, err
	}
	if err := cfg.Validate(); err != nil {
		return migrate.Options{}, nil, err
	}
	return cfg.MigrateOptions(), cfg, nil
}

// MigrateOptions maps the configuration onto migrate.Options: the
// migration section, store.max_ttl and the guard section. The injected
// parts (Flags, Registerer, Publisher, Logger, Now, Comparator) are left
// nil for the caller. Call [Config.Validate] first: a value Validate
// accepts, migrate.New accepts too.
func (c *Config) MigrateOptions() migrate.Options {
	mg := c.Migration
	return migrate.Options{
		Salt:           mg.Salt,
		PollInterval:   mg.PollInterval,
		FlagTimeout:    mg.FlagTimeout,
		DistTimeout:    mg.DistTimeout,
		MaxTTL:         c.Store.MaxTTL,
		QueueSize:      mg.QueueSize,
		AsyncWorkers:   mg.AsyncWorkers,
		RepairInterval: mg.RepairInterval,
		MaxUnsynced:    mg.MaxUnsynced,
		ShadowSample:   mg.ShadowSample,
		CompareQueue:   mg.CompareQueue,
		CompareDelay:   mg.CompareDelay,
		CloseTimeout:   mg.CloseTimeout,
		Guard:          c.GuardSettings(),
		DisableGuard:   !c.Guard.Enabled,
	}
}

// StoreOptions maps the store section onto the options of the
// distributed store, redisstore.New(rdb, cfg.StoreOptions()). Its clock is
// left nil (time.Now).
func (c *Config) StoreOptions() redisstore.Options {
	s := c.Store
	return redisstore.Options{
		Prefix:         s.Prefix,
		MaxTTL:         s.MaxTTL,
		Timeout:        s.Timeout,
		LegacySidecars: s.LegacySidecars,
	}
}
