package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/internal/embedredis"
	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// installHint is what a user without a usable Redis should do.
const installHint = "install Redis 7.0 or later (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) and run the demo again"

// ErrNoRedis is wrapped by Run's error when no Redis that can run the
// session store is available: redis-server is missing (with ForceRealRedis)
// or too old, or the embedded miniredis lacks what the session store needs.
var ErrNoRedis = errors.New("demo: no usable Redis")

// backend is the Redis the demo runs against: a redis-server process it
// started, or an embedded miniredis.
type backend struct {
	addr  string
	name  string // what it is, for the narration
	real  bool
	close func() error
}

// Close stops the server.
func (b *backend) Close() error { return b.close() }

// client returns a new go-redis client of the backend. ContextTimeoutEnabled
// makes context deadlines bound socket I/O, as redisstore requires.
func (b *backend) client() *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr: b.addr, ContextTimeoutEnabled: true, MaxRetries: -1,
		DialTimeout: 500 * time.Millisecond, ReadTimeout: b.slack(time.Second), WriteTimeout: b.slack(time.Second),
	})
}

// raceSlack is how many times longer the embedded miniredis may take when
// the race detector is on (the demo's own tests): it runs inside this
// process, whose every memory access the detector then checks, so its Lua
// interpreter runs several times slower still. redis-server, a process of
// its own, gets no slack.
const raceSlack = 4

// slack returns the time the backend may take for what redis-server does
// in d: d itself on redis-server, more on the embedded miniredis under the
// race detector.
func (b *backend) slack(d time.Duration) time.Duration {
	if !b.real && raceEnabled {
		return d * raceSlack
	}
	return d
}

// startBackend starts the Redis the options ask for and checks that the
// session store works on it. Without a Force option it prefers a real
// redis-server and falls back to miniredis, saying so on say.
func startBackend(ctx context.Context, opts Options, say func(format string, args ...any)) (*backend, error) {
	var b *backend
	var err error
	switch {
	case opts.ForceMiniredis:
		b, err = startEmbedded()
	default:
		if _, lookErr := redistest.Binary(); lookErr != nil {
			if opts.ForceRealRedis {
				return nil, fmt.Errorf("%w: redis-server not found: %s", ErrNoRedis, installHint)
			}
			say("  redis      redis-server is not on PATH; trying the embedded miniredis instead\n")
			b, err = startEmbedded()
			break
		}
		b, err = startRedisServer(ctx)
	}
	if err != nil {
		return nil, err
	}
	if err := probe(ctx, b); err != nil {
		b.Close()
		if b.real {
			return nil, fmt.Errorf("%w: %s cannot run the Redis session store: %v; %s", ErrNoRedis, b.name, err, installHint)
		}
		return nil, fmt.Errorf("%w: the embedded miniredis cannot run the Redis session store, which needs "+
			"Redis 7 scripting features miniredis lacks (%v); %s", ErrNoRedis, err, installHint)
	}
	return b, nil
}

func startRedisServer(ctx context.Context) (*backend, error) {
	srv, err := redistest.NewServer()
	if err != nil {
		return nil, fmt.Errorf("demo: starting redis-server: %w", err)
	}
	b := &backend{addr: srv.Addr, real: true, close: srv.Close}
	version := "?"
	c := b.client()
	defer c.Close()
	if info, err := c.Info(ctx, "server").Result(); err == nil {
		version = infoField(info, "redis_version")
	}
	b.name = fmt.Sprintf("redis-server %s on %s (started for this demo, removed at the end)", version, srv.Addr)
	return b, nil
}

// startEmbedded starts the embedded fallback: miniredis through
// internal/embedredis, on which absolute expiries read back exactly and
// keys expire at their instant by the real clock, as on redis-server (the
// demo checks expiries to the millisecond; TestBackendFidelity holds both
// backends to the same answers).
func startEmbedded() (*backend, error) {
	s, err := embedredis.Start(embedredis.Options{})
	if err != nil {
		return nil, fmt.Errorf("demo: starting the embedded Redis: %w", err)
	}
	return &backend{
		addr:  s.Addr(),
		name:  fmt.Sprintf("embedded miniredis on %s (in this process; install redis-server to use a real one)", s.Addr()),
		close: s.Close,
	}, nil
}

// infoField returns the value of field in an INFO reply, or "?".
func infoField(info, field string) string {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	return "?"
}

// probePrefix keeps the probe's keys apart from the demo's sessions.
const probePrefix = "sessionmigrate-demo-probe:"

// probe runs each kind of call the Migrator makes on the session store once
// and checks the answers: versioned writes, reads, a stale write that must
// lose, a versioned delete whose tombstone must hold, a batch write. It
// removes what it wrote.
func probe(ctx context.Context, b *backend) error {
	c := b.client()
	defer c.Close()
	s := redisstore.New(c, redisstore.Options{Prefix: probePrefix, Timeout: 2 * time.Second})
	exp := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	const id = "probe"
	defer func() {
		_ = s.Delete(context.WithoutCancel(ctx), id)
		_ = s.Delete(context.WithoutCancel(ctx), id+"-batch")
	}()
	want := func(what string, wantFound bool, wantData string) error {
		rec, found, err := s.Get(ctx, id)
		switch {
		case err != nil:
			return fmt.Errorf("%s: %w", what, err)
		case found != wantFound:
			return fmt.Errorf("%s: found %v, want %v", what, found, wantFound)
		case found && !bytes.Equal(rec.Data, []byte(wantData)):
			return fmt.Errorf("%s: got data %q, want %q", what, rec.Data, wantData)
		case found && !rec.ExpiresAt.Equal(exp):
			return fmt.Errorf("%s: got expiry %v, want %v", what, rec.ExpiresAt, exp)
		}
		return nil
	}
	steps := []func() error{
		func() error { return s.Set(ctx, id, store.Record{Data: []byte("v2"), ExpiresAt: exp, Version: 2}) },
		func() error { return want("read after a versioned write", true, "v2") },
		func() error { return s.Set(ctx, id, store.Record{Data: []byte("v1"), ExpiresAt: exp, Version: 1}) },
		func() error { return want("read after an older write", true, "v2") },
		func() error { return s.DeleteVersion(ctx, id, 3, exp) },
		func() error { return want("read after a versioned delete", false, "") },
		func() error { return s.Set(ctx, id, store.Record{Data: []byte("v2"), ExpiresAt: exp, Version: 2}) },
		func() error { return want("read after a write older than the tombstone", false, "") },
		func() error {
			_, err := s.SetMany(ctx, []store.Entry{{ID: id + "-batch", Record: store.Record{Data: []byte("b"), ExpiresAt: exp, Version: 1}}})
			return err
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}
