package migrate

import (
	"fmt"

	"github.com/sessionmigrate/sessionmigrate/config"
)

// LoadConfig reads the configuration shared with migratectl — the YAML file
// (optional: "" reads none), then SESSIONMIGRATE_* environment variables —
// validates it, and returns Options ready for New with the Migration and
// Guard sections applied, together with the whole configuration for the
// rest (cfg.RedisClient(), cfg.Store.Prefix, cfg.Control...). The caller
// still sets the injected parts: Flags, Registerer, Publisher, Logger.
// Validation errors name the key and the allowed values.
func LoadConfig(file string) (Options, *config.Config, error) {
	cfg, err := config.Load(config.LoadOptions{File: file, EnvPrefix: config.DefaultEnvPrefix})
	if err != nil {
		return Options{}, nil, fmt.Errorf("migrate: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return Options{}, nil, fmt.Errorf("migrate: %w", err)
	}
	return OptionsFromConfig(cfg), cfg, nil
}

// OptionsFromConfig maps a loaded configuration onto Options.
func OptionsFromConfig(cfg *config.Config) Options {
	mg := cfg.Migration
	return Options{
		Salt:           mg.Salt,
		PollInterval:   mg.PollInterval,
		FlagTimeout:    mg.FlagTimeout,
		DistTimeout:    mg.DistTimeout,
		MaxTTL:         cfg.Store.MaxTTL,
		QueueSize:      mg.QueueSize,
		AsyncWorkers:   mg.AsyncWorkers,
		RepairInterval: mg.RepairInterval,
		ShadowSample:   mg.ShadowSample,
		CompareQueue:   mg.CompareQueue,
		CompareDelay:   mg.CompareDelay,
		CloseTimeout:   mg.CloseTimeout,
		Guard:          cfg.GuardSettings(),
		DisableGuard:   !cfg.Guard.Enabled,
	}
}
