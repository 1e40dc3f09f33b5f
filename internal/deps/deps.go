//go:build tools

// Package deps pins dependencies that packages under construction import, so
// that go mod tidy keeps them. It is never built.
package deps

import (
	_ "github.com/alexedwards/scs/v2"
	_ "github.com/alicebob/miniredis/v2"
	_ "github.com/cespare/xxhash/v2"
	_ "github.com/open-feature/go-sdk/openfeature"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/testutil"
	_ "github.com/prometheus/client_model/go"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/spf13/cobra"
	_ "github.com/spf13/viper"
	_ "go.uber.org/goleak"
	_ "gopkg.in/yaml.v3"
)
