package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"github.com/redis/go-redis/v9"
)

// RedisOptions returns the go-redis options for Redis: the topology
// (standalone, sentinel or cluster, see [Redis]), credentials, TLS and
// timeouts. It reads the password file and the TLS files now; an unreadable
// or malformed file returns an error naming its key and path. Call
// [Config.Validate] first: RedisOptions does not re-check the other values.
//
// Context deadlines are honoured (ContextTimeoutEnabled), so a caller's
// context bounds every command.
func (c *Config) RedisOptions() (*redis.UniversalOptions, error) {
	pw, err := c.password()
	if err != nil {
		return nil, fmt.Errorf("config: redis options: %w", err)
	}
	tc, err := c.tlsConfig()
	if err != nil {
		return nil, fmt.Errorf("config: redis options: %w", err)
	}
	r := c.Redis
	return &redis.UniversalOptions{
		Addrs:                 append([]string(nil), r.Addrs...),
		MasterName:            r.MasterName,
		IsClusterMode:         r.Cluster,
		Username:              r.Username,
		Password:              pw,
		DB:                    r.DB,
		TLSConfig:             tc,
		DialTimeout:           r.DialTimeout,
		ReadTimeout:           r.ReadTimeout,
		WriteTimeout:          r.WriteTimeout,
		PoolSize:              r.PoolSize,
		ContextTimeoutEnabled: true,
		// No CLIENT SETINFO on connect: the ACL user of
		// runbooks/security.md is not granted it (Redis 7.0 lacks it).
		DisableIdentity: true,
	}, nil
}

// RedisClient returns a client built from [Config.RedisOptions]: a
// *redis.Client, *redis.FailoverClient-backed *redis.Client (sentinel) or
// *redis.ClusterClient. It does not connect; the first command does. The
// caller owns the client and must Close it.
func (c *Config) RedisClient() (redis.UniversalClient, error) {
	opts, err := c.RedisOptions()
	if err != nil {
		return nil, err
	}
	return redis.NewUniversalClient(opts), nil
}

// password returns the password from the environment or the password file
// (one trailing newline removed). A file that is unreadable or empty is an
// error naming redis.password_file.
func (c *Config) password() (string, error) {
	r := c.Redis
	if r.PasswordFile == "" {
		return r.Password, nil
	}
	b, err := os.ReadFile(r.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("redis.password_file: cannot read: %w", err)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if pw == "" {
		return "", fmt.Errorf("redis.password_file: %s is empty", r.PasswordFile)
	}
	return pw, nil
}

// tlsConfig returns nil when TLS is off, else a configuration with the CA
// bundle and client certificate loaded. Errors name the key and the file.
func (c *Config) tlsConfig() (*tls.Config, error) {
	t := c.Redis.TLS
	if !t.Enabled {
		return nil, nil
	}
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // opt-in, documented as for tests only
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("redis.tls.ca_file: cannot read: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("redis.tls.ca_file: %s holds no PEM certificate", t.CAFile)
		}
		tc.RootCAs = pool
	}
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		return nil, fmt.Errorf("redis.tls.key_file: must be set with redis.tls.cert_file (both or neither)")
	case t.CertFile == "" && t.KeyFile != "":
		return nil, fmt.Errorf("redis.tls.cert_file: must be set with redis.tls.key_file (both or neither)")
	case t.CertFile != "":
		certPEM, err := os.ReadFile(t.CertFile)
		if err != nil {
			return nil, fmt.Errorf("redis.tls.cert_file: cannot read: %w", err)
		}
		keyPEM, err := os.ReadFile(t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("redis.tls.key_file: cannot read: %w", err)
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("redis.tls.cert_file, redis.tls.key_file: %s and %s are not a PEM certificate and its key: %w", t.CertFile, t.KeyFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
