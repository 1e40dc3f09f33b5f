package scsstore_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/migrate"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// The package's Redis tests share one real redis-server, started on first
// use and stopped by TestMain; each test empties it first (the tests do not
// run in parallel).
var shared struct {
	mu     sync.Mutex
	server *redistest.Server
}

func TestMain(m *testing.M) {
	code := m.Run()
	shared.mu.Lock()
	if shared.server != nil {
		shared.server.Close()
	}
	shared.mu.Unlock()
	if code == 0 {
		// scs.New starts the cleanup goroutine of its default in-memory
		// store, which nothing stops; every manager here replaces that store.
		if err := goleak.Find(goleak.IgnoreTopFunction("github.com/alexedwards/scs/v2/memstore.(*MemStore).startCleanup")); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// redisClient returns a client of the shared server, emptied, closed on
// cleanup.
func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	shared.mu.Lock()
	if shared.server == nil {
		s, err := redistest.NewServer()
		if err != nil {
			shared.mu.Unlock()
			t.Fatal(err)
		}
		shared.server = s
	}
	srv := shared.server
	shared.mu.Unlock()
	c := srv.Client(t)
	if err := c.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	return c
}

// stage is a routing a test runs at.
type stage struct {
	name    string
	stage   migrate.Stage
	percent float64
}

// stages are the stages at which scs must see Redis as its own store: from
// dual on, every write reaches Redis on the request path.
var stages = []stage{
	{"dual", migrate.Dual, 0},
	{"ramp 100", migrate.Ramp, 100},
	{"complete", migrate.Complete, 100},
}

// newMigrator returns a Migrator at st over a fresh memstore and a
// redisstore on client with scs's key prefix (the default), both closed on
// cleanup.
func newMigrator(t *testing.T, client redis.UniversalClient, st stage) *migrate.Migrator {
	t.Helper()
	local := memstore.New()
	m, err := migrate.New(local, redisstore.New(client, redisstore.Options{}), migrate.Options{
		Stage: st.stage, Percent: st.percent, DisableGuard: true,
	})
	if err != nil {
		local.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		local.Close()
	})
	return m
}
