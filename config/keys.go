package config

import (
	"reflect"
	"strings"
)

// Keys that get special treatment.
const (
	// KeyRedisAddrs is the key of Redis.Addrs. Besides its regular
	// environment variable (<PREFIX>_REDIS_ADDRS) it accepts the singular
	// <PREFIX>_REDIS_ADDR, matching the --redis-addr flag.
	KeyRedisAddrs = "redis.addrs"
	// KeyRedisPassword is the key of Redis.Password: settable from the
	// environment only, never from the configuration file or a flag.
	KeyRedisPassword = "redis.password"
)

// DefaultEnvPrefix is the environment prefix applications use when
// LoadOptions.EnvPrefix is empty; migratectl uses "MIGRATECTL".
const DefaultEnvPrefix = "SESSIONMIGRATE"

// Keys returns every configuration key in declaration order, such as
// "redis.addrs" and "redis.tls.ca_file". The slice is fresh on every call.
func Keys() []string {
	var keys []string
	walk(reflect.ValueOf(Default()), "", func(key string, _ reflect.Value) {
		keys = append(keys, key)
	})
	return keys
}

// EnvName returns the environment variable that sets key: the prefix, an
// underscore, and the key with dots replaced by underscores, all upper case.
// EnvName("MIGRATECTL", "redis.tls.ca_file") is
// "MIGRATECTL_REDIS_TLS_CA_FILE". An empty prefix means DefaultEnvPrefix.
func EnvName(prefix, key string) string {
	if prefix == "" {
		prefix = DefaultEnvPrefix
	}
	return strings.ToUpper(prefix + "_" + strings.ReplaceAll(key, ".", "_"))
}

// envNames returns every environment variable that sets key, the canonical
// one first; the first one set wins.
func envNames(prefix, key string) []string {
	names := []string{EnvName(prefix, key)}
	if key == KeyRedisAddrs {
		names = append(names, EnvName(prefix, "redis.addr"))
	}
	return names
}

// defaults returns every key with its default value, for viper.SetDefault.
func defaults() map[string]any {
	out := map[string]any{}
	walk(reflect.ValueOf(Default()), "", func(key string, v reflect.Value) {
		out[key] = v.Interface()
	})
	return out
}

// walk calls fn for every leaf field of the struct v with its key path.
// Nested structs are sections; time.Duration, strings, numbers, bools and
// slices are leaves. Fields tagged mapstructure:"-" are skipped.
func walk(v reflect.Value, prefix string, fn func(key string, v reflect.Value)) {
	t := v.Type()
	for i := range t.NumField() {
		name := t.Field(i).Tag.Get("mapstructure")
		if name == "" || name == "-" {
			continue
		}
		key := prefix + name
		if f := v.Field(i); f.Kind() == reflect.Struct {
			walk(f, key+".", fn)
		} else {
			fn(key, f)
		}
	}
}

// knownKey reports whether key is a configuration key or a section.
func knownKey(key string) bool {
	for _, k := range Keys() {
		if k == key || strings.HasPrefix(k, key+".") {
			return true
		}
	}
	return false
}
