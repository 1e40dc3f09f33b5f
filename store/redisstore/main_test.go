package redisstore

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
)

// The package shares one standalone server and one cluster between its
// tests, started on first use and stopped by TestMain; each test flushes
// them before use (tests do not run in parallel).
var shared struct {
	mu      sync.Mutex
	server  *redistest.Server
	cluster *redistest.Cluster
}

func TestMain(m *testing.M) {
	code := m.Run()
	shared.mu.Lock()
	if shared.server != nil {
		shared.server.Close()
	}
	if shared.cluster != nil {
		shared.cluster.Close()
	}
	shared.mu.Unlock()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func sharedServer(tb testing.TB) *redistest.Server {
	tb.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.server == nil {
		s, err := redistest.NewServer()
		if err != nil {
			tb.Fatal(err)
		}
		shared.server = s
	}
	return shared.server
}

func sharedCluster(tb testing.TB) *redistest.Cluster {
	tb.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.cluster == nil {
		c, err := redistest.NewCluster()
		if err != nil {
			tb.Fatal(err)
		}
		shared.cluster = c
	}
	return shared.cluster
}

// topology is a Redis deployment the store is tested against.
type topology struct {
	name string
	// client returns a client of the topology, emptied first and closed on
	// cleanup.
	client func(tb testing.TB) redis.UniversalClient
	// nodes returns one client per master, closed on cleanup, for checks
	// that look at every key.
	nodes func(tb testing.TB) []*redis.Client
}

var topologies = []topology{
	{
		name: "standalone",
		client: func(tb testing.TB) redis.UniversalClient {
			s := sharedServer(tb)
			c := s.Client(tb)
			if err := c.FlushAll(testContext(tb)).Err(); err != nil {
				tb.Fatal(err)
			}
			return c
		},
		nodes: func(tb testing.TB) []*redis.Client {
			return []*redis.Client{sharedServer(tb).Client(tb)}
		},
	},
	{
		name: "cluster",
		client: func(tb testing.TB) redis.UniversalClient {
			c := sharedCluster(tb)
			if err := c.FlushAll(testContext(tb)); err != nil {
				tb.Fatal(err)
			}
			return c.Client(tb)
		},
		nodes: func(tb testing.TB) []*redis.Client {
			var nodes []*redis.Client
			for _, s := range sharedCluster(tb).Servers {
				nodes = append(nodes, s.Client(tb))
			}
			return nodes
		},
	},
}

// forEachTopology runs fn as a subtest per topology.
func forEachTopology(t *testing.T, fn func(t *testing.T, tp topology)) {
	for _, tp := range topologies {
		t.Run(tp.name, func(t *testing.T) { fn(t, tp) })
	}
}

// newTestStore returns a store over a freshly emptied topology.
func newTestStore(tb testing.TB, tp topology, opts Options) (*Store, redis.UniversalClient) {
	tb.Helper()
	c := tp.client(tb)
	s := New(c, opts)
	if err := s.Err(); err != nil {
		tb.Fatal(err)
	}
	return s, c
}

func testContext(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// nodeKey is a key and the node that holds it.
type nodeKey struct {
	node *redis.Client
	key  string
}

// allKeys returns every key on every node of tp.
func allKeys(tb testing.TB, tp topology) []nodeKey {
	tb.Helper()
	ctx := testContext(tb)
	var keys []nodeKey
	for _, n := range tp.nodes(tb) {
		iter := n.Scan(ctx, 0, "*", 100).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, nodeKey{n, iter.Val()})
		}
		if err := iter.Err(); err != nil {
			tb.Fatal(err)
		}
	}
	return keys
}
