package config_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/sessionmigrate/sessionmigrate/config"
)

// precedenceFile sets every key the precedence test looks at.
const precedenceFile = `
redis:
  addrs: [file:1]
  cluster: false
  dial_timeout: 1s
control:
  prefix: fromfile
guard:
  error_rate: 0.1
`

// newFlags returns the connection flags plus -o, parsed from args.
func newFlags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	config.AddFlags(fs)
	fs.StringP("output", "o", "", "")
	if err := config.MarkFlag(fs, "output", "cli.output"); err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestLoadPrecedence(t *testing.T) {
	file := writeFile(t, "c.yaml", precedenceFile)
	type want struct {
		addrs   []string
		cluster bool
		dial    time.Duration
		prefix  string
		rate    float64
		output  string
	}
	tests := []struct {
		name  string
		file  string
		env   map[string]string
		flags []string
		want  want
	}{
		{"defaults", "", nil, nil,
			want{[]string{}, false, 2 * time.Second, "sessionmigrate", 0.01, "table"}},
		{"file over defaults", file, nil, nil,
			want{[]string{"file:1"}, false, time.Second, "fromfile", 0.1, "table"}},
		{"env over file", file, map[string]string{
			"MIGRATECTL_REDIS_ADDRS":        "env:1, env:2",
			"MIGRATECTL_REDIS_CLUSTER":      "true",
			"MIGRATECTL_REDIS_DIAL_TIMEOUT": "250ms",
			"MIGRATECTL_CONTROL_PREFIX":     "fromenv",
			"MIGRATECTL_GUARD_ERROR_RATE":   "0.2",
			"MIGRATECTL_CLI_OUTPUT":         "json",
		}, nil,
			want{[]string{"env:1", "env:2"}, true, 250 * time.Millisecond, "fromenv", 0.2, "json"}},
		{"flags over env", file, map[string]string{
			"MIGRATECTL_REDIS_ADDR":     "env:1",
			"MIGRATECTL_CONTROL_PREFIX": "fromenv",
			"MIGRATECTL_CLI_OUTPUT":     "json",
		}, []string{"--redis-addr", "flag:1,flag:2", "--redis-addr", "flag:3", "--cluster", "--prefix", "fromflag", "-o", "yaml"},
			want{[]string{"flag:1", "flag:2", "flag:3"}, true, time.Second, "fromflag", 0.1, "yaml"}},
		{"empty env is unset", file, map[string]string{"MIGRATECTL_CONTROL_PREFIX": ""}, nil,
			want{[]string{"file:1"}, false, time.Second, "fromfile", 0.1, "table"}},
		{"ADDRS wins over ADDR", "", map[string]string{"MIGRATECTL_REDIS_ADDRS": "a:1", "MIGRATECTL_REDIS_ADDR": "b:1"}, nil,
			want{[]string{"a:1"}, false, 2 * time.Second, "sessionmigrate", 0.01, "table"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Load(config.LoadOptions{
				File:      tt.file,
				EnvPrefix: "MIGRATECTL",
				Flags:     newFlags(t, tt.flags...),
				LookupEnv: env(tt.env),
			})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			got := want{c.Redis.Addrs, c.Redis.Cluster, c.Redis.DialTimeout, c.Control.Prefix, c.Guard.ErrorRate, c.CLI.Output}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if c.File != tt.file {
				t.Errorf("File: got %q, want %q", c.File, tt.file)
			}
		})
	}
}

func TestLoadFileFromEnv(t *testing.T) {
	file := writeFile(t, "c.yaml", precedenceFile)
	c, err := config.Load(config.LoadOptions{LookupEnv: env(map[string]string{"SESSIONMIGRATE_CONFIG": file})})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.File != file || c.Control.Prefix != "fromfile" {
		t.Errorf("got file %q prefix %q, want %q and fromfile", c.File, c.Control.Prefix, file)
	}
}

func TestLoadDefaultEnvPrefix(t *testing.T) {
	c, err := config.Load(config.LoadOptions{LookupEnv: env(map[string]string{
		"SESSIONMIGRATE_REDIS_PASSWORD": "s3cret",
		"MIGRATECTL_CONTROL_PREFIX":     "ignored",
	})})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Redis.Password != "s3cret" || c.Control.Prefix != "sessionmigrate" {
		t.Errorf("got password set %v, prefix %q; want password from SESSIONMIGRATE_ and default prefix", c.Redis.Password == "s3cret", c.Control.Prefix)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		file string // YAML; "" for none
		env  map[string]string
		want []string // substrings, all in one error
	}{
		{"unknown keys", "redis:\n  adress: x\nguards:\n  a: 1\n", nil,
			[]string{"redis.adress: unknown key", "guards.a: unknown key"}},
		{"password in file", "redis:\n  password: hunter2\n", nil,
			[]string{"redis.password: not allowed in the configuration file", "MIGRATECTL_REDIS_PASSWORD"}},
		{"bare number duration", "redis:\n  dial_timeout: 5\n", nil,
			[]string{"redis.dial_timeout", "5 is a number, not a duration"}},
		{"bad duration env", "", map[string]string{"MIGRATECTL_CLI_TIMEOUT": "soon"},
			[]string{"cli.timeout", `"soon" is not a duration`}},
		{"bad int env", "", map[string]string{"MIGRATECTL_REDIS_DB": "abc"},
			[]string{"redis.db"}},
		{"all at once", "redis:\n  adress: x\n", map[string]string{"MIGRATECTL_REDIS_DB": "abc"},
			[]string{"redis.adress", "redis.db"}},
		{"not yaml", "redis: [\n", nil, []string{"config: read"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := config.LoadOptions{EnvPrefix: "MIGRATECTL", LookupEnv: env(tt.env)}
			if tt.file != "" {
				opts.File = writeFile(t, "c.yaml", tt.file)
			}
			_, err := config.Load(opts)
			if err == nil {
				t.Fatal("Load: got nil error, want one")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q repeats the password", err)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := config.Load(config.LoadOptions{File: "/nonexistent/c.yaml", LookupEnv: env(nil)})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/c.yaml") {
		t.Errorf("got %v, want an error naming the file", err)
	}
}

func TestFlagNotGivenDoesNotOverride(t *testing.T) {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.String("prefix", "flagdefault", "")
	if err := config.MarkFlag(fs, "prefix", "control.prefix"); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(config.LoadOptions{Flags: fs, LookupEnv: env(map[string]string{"SESSIONMIGRATE_CONTROL_PREFIX": "fromenv"})})
	if err != nil {
		t.Fatal(err)
	}
	if c.Control.Prefix != "fromenv" {
		t.Errorf("got prefix %q, want fromenv (an unset flag's default must not win)", c.Control.Prefix)
	}
}

func TestMarkFlagUnknownKey(t *testing.T) {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.String("x", "", "")
	if err := config.MarkFlag(fs, "x", "redis.adress"); err == nil {
		t.Error("MarkFlag with an unknown key: got nil error")
	}
	if err := config.MarkFlag(fs, "missing", "redis.addrs"); err == nil {
		t.Error("MarkFlag of a missing flag: got nil error")
	}
	if err := fs.SetAnnotation("x", config.FlagAnnotation, []string{"redis.adress"}); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(config.LoadOptions{Flags: fs, LookupEnv: env(nil)}); err == nil || !strings.Contains(err.Error(), "--x") {
		t.Errorf("Load with a flag bound to an unknown key: got %v, want an error naming --x", err)
	}
}

func TestEnvName(t *testing.T) {
	tests := []struct{ prefix, key, want string }{
		{"MIGRATECTL", "redis.addrs", "MIGRATECTL_REDIS_ADDRS"},
		{"MIGRATECTL", "redis.tls.ca_file", "MIGRATECTL_REDIS_TLS_CA_FILE"},
		{"", "guard.error_rate", "SESSIONMIGRATE_GUARD_ERROR_RATE"},
		{"app", "cli.output", "APP_CLI_OUTPUT"},
	}
	for _, tt := range tests {
		if got := config.EnvName(tt.prefix, tt.key); got != tt.want {
			t.Errorf("EnvName(%q, %q): got %q, want %q", tt.prefix, tt.key, got, tt.want)
		}
	}
}

// TestEveryKeyFromEnv sets each key through its environment variable and
// checks that Load does not reject any: every key is reachable.
func TestEveryKeyFromEnv(t *testing.T) {
	for _, key := range config.Keys() {
		t.Run(key, func(t *testing.T) {
			_, err := config.Load(config.LoadOptions{LookupEnv: env(map[string]string{config.EnvName("", key): "1s"})})
			// "1s" is not valid for every type; an error must at least
			// name the key, proving the variable reached it.
			if err != nil && !strings.Contains(err.Error(), key) {
				t.Errorf("error %q does not name %s", err, key)
			}
		})
	}
}
