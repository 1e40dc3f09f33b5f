package config

import (
	"fmt"
	"slices"

	"github.com/spf13/pflag"
)

// FlagAnnotation is the pflag annotation naming the configuration key a
// flag sets; [Load] binds every flag carrying it. Set it with [MarkFlag].
const FlagAnnotation = "sessionmigrate/config-key"

// MarkFlag marks the flag called name in fs as setting key, so [Load] gives
// its value precedence over the file and the environment when it is given
// on the command line. It returns an error if the flag does not exist or
// key is not a configuration key.
func MarkFlag(fs *pflag.FlagSet, name, key string) error {
	if !slices.Contains(Keys(), key) {
		return fmt.Errorf("config: mark flag --%s: %q is not a configuration key", name, key)
	}
	if err := fs.SetAnnotation(name, FlagAnnotation, []string{key}); err != nil {
		return fmt.Errorf("config: mark flag: %w", err)
	}
	return nil
}

// connectionFlags are the flags [AddFlags] defines, with the key each sets.
// Defaults are empty on purpose: a flag only counts when given, and the
// configuration's own defaults ([Default]) apply otherwise.
var connectionFlags = []struct {
	name, key, usage string
	kind             string // "string", "strings", "bool", "int"
}{
	{"redis-addr", KeyRedisAddrs, "Redis host:port, comma-separated or repeated (sentinels with --sentinel-master, seed nodes with --cluster)", "strings"},
	{"redis-username", "redis.username", "Redis ACL user", "string"},
	{"redis-password-file", "redis.password_file", "file holding the Redis password (the password itself is read from the environment only)", "string"},
	{"redis-db", "redis.db", "Redis database number (standalone and sentinel only)", "int"},
	{"sentinel-master", "redis.master_name", "sentinel master name: connect through the sentinels in --redis-addr", "string"},
	{"cluster", "redis.cluster", "connect to a Redis Cluster", "bool"},
	{"tls", "redis.tls.enabled", "use TLS to Redis", "bool"},
	{"tls-ca-file", "redis.tls.ca_file", "PEM file of CAs to trust (default: system roots)", "string"},
	{"tls-cert-file", "redis.tls.cert_file", "PEM client certificate for mutual TLS", "string"},
	{"tls-key-file", "redis.tls.key_file", "PEM key of --tls-cert-file", "string"},
	{"tls-server-name", "redis.tls.server_name", "name to verify the server certificate against", "string"},
	{"tls-insecure-skip-verify", "redis.tls.insecure_skip_verify", "do not verify the server certificate (tests only)", "bool"},
	{"prefix", "control.prefix", `control plane prefix: keys are "{prefix}:state", ... (default "sessionmigrate")`, "string"},
}

// AddFlags defines the connection flags shared by migratectl and any
// program that wants them, each marked with its key: --redis-addr,
// --redis-username, --redis-password-file, --redis-db, --sentinel-master,
// --cluster, --tls, --tls-ca-file, --tls-cert-file, --tls-key-file,
// --tls-server-name, --tls-insecure-skip-verify and --prefix. There is
// deliberately no flag for the password: command lines are visible to
// every user of the host. Like pflag itself, AddFlags panics if fs already
// defines one of these names.
func AddFlags(fs *pflag.FlagSet) {
	for _, f := range connectionFlags {
		switch f.kind {
		case "strings":
			fs.StringSlice(f.name, nil, f.usage)
		case "bool":
			fs.Bool(f.name, false, f.usage)
		case "int":
			fs.Int(f.name, 0, f.usage)
		default:
			fs.String(f.name, "", f.usage)
		}
		// The keys come from the table above; a failure here is a
		// programming error that the package tests catch.
		if err := MarkFlag(fs, f.name, f.key); err != nil {
			panic(err)
		}
	}
}
