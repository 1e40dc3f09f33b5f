package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/spf13/pflag"

	"github.com/sessionmigrate/sessionmigrate/config"
)

// settings is everything sessionapp runs with: the shared configuration
// (file, SESSIONMIGRATE_* environment, flags) and its own flags.
type settings struct {
	cfg *config.Config

	listen, admin    string
	instance         string
	controlRedisAddr string // "" means the sessions' Redis
	cookie           cookieSettings
	lifetime         time.Duration
}

// cookieSettings are the session cookie's attributes. The rest are fixed:
// HttpOnly, SameSite=Lax, Path=/ and no Max-Age or Expires (a browser
// session cookie; the session itself expires in the store).
type cookieSettings struct {
	name   string
	secure bool
	domain string
}

// usageError is a mistake in how sessionapp was called or configured
// (exit code 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// Flags bound to keys of the shared configuration besides config.AddFlags'
// connection flags; each sets its key only when given.
var configFlags = []struct{ name, key, usage string }{
	{"store-prefix", "store.prefix", `key prefix of the sessions in Redis (default "scs:session:", scs's own)`},
	{"poll", "control.poll_interval", "control plane poll interval, the safety net for lost change notices (default 1s)"},
	{"heartbeat", "control.heartbeat_interval", "heartbeat interval (default 5s)"},
	{"dist-timeout", "migration.dist_timeout", "timeout of Redis calls on the request path before serving from local (default 100ms)"},
}

// parseSettings reads the command line and the configuration. help is true
// when -h or --help was given: the usage has been written to stdout and
// nothing else was done. A usageError is the caller's mistake.
func parseSettings(args []string, stdout io.Writer, lookupEnv func(string) (string, bool)) (s settings, help bool, err error) {
	fs := pflag.NewFlagSet("sessionapp", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var file string
	fs.StringVar(&file, "config", "", "configuration file (YAML, see config/example.yaml); default $SESSIONMIGRATE_CONFIG")
	fs.StringVar(&s.listen, "listen", "127.0.0.1:0", "HTTP listen address of the application")
	fs.StringVar(&s.admin, "admin", "127.0.0.1:0", "listen address of the admin handler (/metrics, /status)")
	fs.StringVar(&s.instance, "instance", "", "instance id reported to the control plane (default host-pid)")
	fs.StringVar(&s.controlRedisAddr, "control-redis-addr", "", "host:port of a separate Redis for the control plane (default: the sessions' Redis)")
	fs.StringVar(&s.cookie.name, "cookie-name", "session_id", "name of the session cookie")
	fs.BoolVar(&s.cookie.secure, "cookie-secure", true, "send the session cookie over HTTPS only (--cookie-secure=false for plain-HTTP development)")
	fs.StringVar(&s.cookie.domain, "cookie-domain", "", "Domain attribute of the session cookie (default none: this host only)")
	fs.DurationVar(&s.lifetime, "lifetime", 24*time.Hour, "absolute lifetime of a session from login (scs's Lifetime)")
	config.AddFlags(fs)
	for _, f := range configFlags {
		fs.String(f.name, "", f.usage)
		if err := config.MarkFlag(fs, f.name, f.key); err != nil {
			return s, false, err
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(stdout, usage(fs))
			return s, true, nil
		}
		return s, false, usagef("%v (see --help)", err)
	}
	if fs.NArg() > 0 {
		return s, false, usagef("unexpected argument %q (see --help)", fs.Arg(0))
	}
	if s.lifetime <= 0 {
		return s, false, usagef("--lifetime %v must be positive", s.lifetime)
	}
	s.cfg, err = config.Load(config.LoadOptions{File: file, EnvPrefix: config.DefaultEnvPrefix, Flags: fs, LookupEnv: lookupEnv})
	if err != nil {
		return s, false, usagef("%v", err)
	}
	// No default address, on purpose: a Redis at 127.0.0.1:6379 may well
	// belong to someone else.
	if len(s.cfg.Redis.Addrs) == 0 {
		return s, false, usagef("no Redis address: give --redis-addr host:port, set %s, or set redis.addrs in the --config file",
			config.EnvName(config.DefaultEnvPrefix, config.KeyRedisAddrs))
	}
	if err := s.cfg.Validate(); err != nil {
		return s, false, usagef("%v", err)
	}
	if s.instance == "" {
		host, _ := os.Hostname()
		s.instance = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	return s, false, nil
}

func usage(fs *pflag.FlagSet) string {
	return `sessionapp: a small web application on alexedwards/scs whose sessions move
from process memory to Redis while it serves (see examples/sessionapp/README.md).

Usage: sessionapp --redis-addr HOST:PORT [flags]

Configuration: the shared sessionmigrate configuration, from --config FILE
(or $SESSIONMIGRATE_CONFIG), then SESSIONMIGRATE_* environment variables
(SESSIONMIGRATE_REDIS_ADDRS, SESSIONMIGRATE_REDIS_PASSWORD, ...), then flags.
A Redis address is required; there is no default.

Flags:
` + fs.FlagUsages()
}

// apply sets the session cookie's attributes on sm as a session cookie
// should have them: HttpOnly, SameSite=Lax, Path=/, Secure as configured,
// no Domain unless configured, and not persistent (no Max-Age or Expires).
func (c cookieSettings) apply(sm *scs.SessionManager) {
	sm.Cookie.Name = c.name
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Path = "/"
	sm.Cookie.Secure = c.secure
	sm.Cookie.Domain = c.domain
	sm.Cookie.Persist = false
}
