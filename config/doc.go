// Package config is the one configuration of sessionmigrate, shared by the
// applications that embed the Migrator and by migratectl, so that both
// read the same Redis, the same prefixes and the same salt.
//
//	cfg, err := config.Load(config.LoadOptions{File: "sessionmigrate.yaml"})
//	if err != nil { ... }
//	if err := cfg.Validate(); err != nil { ... } // every problem, one per line
//	rdb, err := cfg.RedisClient()                // standalone, sentinel or cluster
//	dist := redisstore.New(rdb, cfg.StoreOptions())
//	m, err := migrate.New(local, dist, cfg.MigrateOptions()) // plus Flags, Registerer, ...
//
// [LoadMigrator] does the loading and validation in one call, for
// applications. The mapping lives here, not in package migrate, so that
// embedding the Migrator links no configuration library: config imports
// migrate, never the reverse.
//
// # Defaults
//
// Every default ([Default]) is the one of the type its key configures
// (migrate.Options, redisstore.Options, control.Options, guard.Settings),
// taken from that package's constants, so a key left out and a field left
// zero mean the same. migration.compare_delay is the one key whose default
// is 0: migrate.New derives it from migration.dist_timeout.
//
// # Sources and precedence
//
// [Load] reads, each overriding the one before: the defaults ([Default]),
// one YAML file (example.yaml in this directory documents every key), the
// environment and command-line flags. Keys are dotted paths of snake_case
// names: redis.addrs, redis.tls.ca_file, guard.error_rate, ...
//
// # Environment
//
// A key's variable is the prefix, an underscore, and the key with dots
// turned into underscores, in upper case ([EnvName]):
//
//	redis.addrs          MIGRATECTL_REDIS_ADDRS  (also MIGRATECTL_REDIS_ADDR)
//	redis.password       MIGRATECTL_REDIS_PASSWORD
//	redis.tls.ca_file    MIGRATECTL_REDIS_TLS_CA_FILE
//	control.prefix       MIGRATECTL_CONTROL_PREFIX
//	guard.error_rate     MIGRATECTL_GUARD_ERROR_RATE
//
// The prefix is LoadOptions.EnvPrefix: "MIGRATECTL" for migratectl,
// [DefaultEnvPrefix] ("SESSIONMIGRATE") for applications. Lists are
// comma-separated ("a:6379,b:6379"), durations take a unit ("250ms"), and
// an empty variable counts as unset. <PREFIX>_CONFIG names the file when
// LoadOptions.File is empty.
//
// # Flags
//
// A flag sets a key when it carries the [FlagAnnotation] naming it
// ([MarkFlag]); [AddFlags] defines the connection flags migratectl uses:
// --redis-addr (redis.addrs), --redis-password-file, --sentinel-master,
// --cluster, --tls and --tls-*, --prefix (control.prefix). Only flags given
// on the command line count.
//
// # Secrets
//
// The Redis password comes from the environment (<PREFIX>_REDIS_PASSWORD)
// or from redis.password_file. Load refuses it in the file, which tends to
// end up in version control, and no flag sets it, since command lines are
// visible to every user of the host. [Config.Redacted] is the form to print.
//
// # Validation
//
// [Config.Validate] checks ranges and combinations and reads the password
// and TLS files, and reports every problem at once, each line naming its key
// and what is allowed:
//
//	redis.addrs: must not be empty (comma-separated host:port list)
//	guard.error_rate: 1.5 outside (0, 1)
package config
