package main

import (
	"context"
	"os"

	"github.com/redis/go-redis/v9"
)

func main() {
	// go-redis logs failed dials to stderr by itself; migratectl reports
	// every failure once, in its own words.
	redis.SetLogger(silent{})
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// silent discards go-redis's log lines.
type silent struct{}

func (silent) Printf(context.Context, string, ...any) {}
