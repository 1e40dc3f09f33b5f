package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// LoadOptions says where [Load] finds the configuration.
type LoadOptions struct {
	// File is the YAML configuration file. Empty means the file named by
	// the environment variable <EnvPrefix>_CONFIG, and no file at all when
	// that is unset too. A named file that cannot be read is an error.
	File string
	// EnvPrefix prefixes every environment variable (see [EnvName]).
	// Default DefaultEnvPrefix ("SESSIONMIGRATE"); migratectl uses
	// "MIGRATECTL".
	EnvPrefix string
	// Flags, if set, is searched for flags annotated with the key they set
	// ([MarkFlag], [AddFlags]); a flag counts only when given on the command
	// line. Flags without the annotation are ignored.
	Flags *pflag.FlagSet
	// LookupEnv reads the environment. Default os.LookupEnv; tests and
	// embedding programs inject their own. Empty values count as unset.
	LookupEnv func(name string) (string, bool)
}

// Load builds the configuration from, in increasing precedence: the
// defaults ([Default]), the YAML file, the environment and the flags. Each
// key's environment variable is [EnvName] of it; list values (redis.addrs)
// are comma-separated in the environment and in flags.
//
// Load reports every problem it finds at once, joined: an unreadable file,
// unknown keys in the file (typos), a password in the file, values that do
// not parse (a duration without a unit, "abc" for a number). It does not
// check ranges or combinations: call [Config.Validate] on the result.
func Load(opts LoadOptions) (*Config, error) {
	if opts.EnvPrefix == "" {
		opts.EnvPrefix = DefaultEnvPrefix
	}
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	lookup := func(name string) (string, bool) {
		v, ok := opts.LookupEnv(name)
		return v, ok && v != ""
	}
	file := opts.File
	if file == "" {
		file, _ = lookup(EnvName(opts.EnvPrefix, "config"))
	}

	v := viper.New()
	for key, def := range defaults() {
		v.SetDefault(key, def)
	}
	var problems []error
	if file != "" {
		settings, err := readFile(file, opts.EnvPrefix)
		if err != nil {
			return nil, err
		}
		problems = append(problems, settings.problems...)
		if err := v.MergeConfigMap(settings.values); err != nil {
			return nil, fmt.Errorf("config: %s: %w", file, err)
		}
	}
	// The environment is merged over the file in viper's config layer, so
	// that it can be read through LookupEnv; flags stay above both.
	if err := v.MergeConfigMap(fromEnv(opts.EnvPrefix, lookup)); err != nil {
		return nil, fmt.Errorf("config: environment: %w", err)
	}
	if err := bindFlags(v, opts.Flags); err != nil {
		return nil, err
	}

	c := Default()
	if err := v.Unmarshal(&c, viper.DecodeHook(decodeHook)); err != nil {
		problems = append(problems, decodeProblems(err)...)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("config: cannot load configuration:\n%w", errors.Join(problems...))
	}
	c.File = file
	c.Redis.Addrs = splitList(c.Redis.Addrs)
	return &c, nil
}

// fileSettings is a configuration file as read, with what is wrong in it.
type fileSettings struct {
	values   map[string]any
	problems []error
}

// readFile reads one YAML file with its own viper instance, so that its
// keys can be checked before they are merged with the defaults.
func readFile(file, envPrefix string) (fileSettings, error) {
	fv := viper.New()
	fv.SetConfigFile(file)
	fv.SetConfigType("yaml")
	if err := fv.ReadInConfig(); err != nil {
		return fileSettings{}, fmt.Errorf("config: read %s: %w", file, err)
	}
	var fs fileSettings
	for _, key := range fv.AllKeys() {
		if !knownKey(key) {
			fs.problems = append(fs.problems, fmt.Errorf("%s: unknown key in %s (see config/example.yaml for every key)", key, file))
		}
	}
	if fv.IsSet(KeyRedisPassword) {
		fs.problems = append(fs.problems, fmt.Errorf("%s: not allowed in the configuration file %s: use redis.password_file or the environment variable %s",
			KeyRedisPassword, file, EnvName(envPrefix, KeyRedisPassword)))
	}
	fs.values = fv.AllSettings()
	return fs, nil
}

// fromEnv returns, as a nested map, every key set in the environment.
func fromEnv(prefix string, lookup func(string) (string, bool)) map[string]any {
	out := map[string]any{}
	for _, key := range Keys() {
		for _, name := range envNames(prefix, key) {
			if val, ok := lookup(name); ok {
				setNested(out, key, val)
				break
			}
		}
	}
	return out
}

// setNested stores val under the dotted key in m, creating sections.
func setNested(m map[string]any, key string, val any) {
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		sub, ok := m[p].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[p] = sub
		}
		m = sub
	}
	m[parts[len(parts)-1]] = val
}

// bindFlags binds every annotated flag of fs to its key.
func bindFlags(v *viper.Viper, fs *pflag.FlagSet) error {
	if fs == nil {
		return nil
	}
	var errs []error
	keys := Keys()
	fs.VisitAll(func(f *pflag.Flag) {
		ann := f.Annotations[FlagAnnotation]
		if len(ann) == 0 {
			return
		}
		if len(ann) != 1 || !slices.Contains(keys, ann[0]) {
			errs = append(errs, fmt.Errorf("flag --%s is bound to %q, which is not a configuration key", f.Name, ann))
			return
		}
		if err := v.BindPFlag(ann[0], f); err != nil {
			errs = append(errs, fmt.Errorf("flag --%s: %w", f.Name, err))
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("config: %w", errors.Join(errs...))
	}
	return nil
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	stringsType  = reflect.TypeFor[[]string]()
)

// decodeHook converts the strings that environment variables and flags
// produce, and refuses a bare number for a duration: "timeout: 5" would
// otherwise mean five nanoseconds.
func decodeHook(from, to reflect.Type, data any) (any, error) {
	switch {
	case to == durationType && from.Kind() == reflect.String:
		d, err := time.ParseDuration(strings.TrimSpace(data.(string)))
		if err != nil {
			return nil, fmt.Errorf("%q is not a duration (use a unit: 500ms, 2s, 1m, 24h)", data)
		}
		return d, nil
	case to == durationType && from != durationType && isNumber(from.Kind()):
		if reflect.ValueOf(data).IsZero() {
			return time.Duration(0), nil
		}
		return nil, fmt.Errorf("%v is a number, not a duration (add a unit: 500ms, 2s, 1m, 24h)", data)
	case to == stringsType && from.Kind() == reflect.String:
		return splitList([]string{data.(string)}), nil
	}
	return data, nil
}

func isNumber(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// splitList splits comma-separated entries, trims spaces and drops empty
// entries; the result is never nil.
func splitList(in []string) []string {
	out := []string{}
	for _, s := range in {
		for part := range strings.SplitSeq(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// decodeProblems turns a decoding error into one error per line, without
// the decoder's header, so each names its key.
func decodeProblems(err error) []error {
	var out []error
	for line := range strings.SplitSeq(err.Error(), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "decoding failed due to") {
			continue
		}
		// The decoder writes "'redis.db' cannot parse ..."; make it read
		// like every other problem: "redis.db: cannot parse ...".
		if rest, ok := strings.CutPrefix(line, "'"); ok {
			if key, msg, ok := strings.Cut(rest, "' "); ok {
				line = key + ": " + msg
			}
		}
		out = append(out, errors.New(line))
	}
	if len(out) == 0 {
		out = append(out, err)
	}
	return out
}
