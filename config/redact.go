package config

import (
	"slices"

	"github.com/sessionmigrate/sessionmigrate/redact"
)

// RedactedValue replaces secrets in [Config.Redacted]: [redact.Secret],
// the one form every printed secret takes.
const RedactedValue = redact.Secret

// Redacted returns a deep copy of c safe to print or log: the password, if
// any, is replaced by RedactedValue. The password file's path is kept (it is
// not a secret), and so is the salt, which instances must agree on.
func (c *Config) Redacted() Config {
	out := *c
	out.Redis.Addrs = slices.Clone(c.Redis.Addrs)
	if out.Redis.Password != "" {
		out.Redis.Password = RedactedValue
	}
	return out
}
