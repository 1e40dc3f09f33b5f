package consistency_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// redisTopology is a real Redis deployment the full diff runs against.
type redisTopology struct {
	name   string
	client func(t *testing.T) redis.UniversalClient // emptied first
}

// The package's tests share one server and one cluster, started on first
// use and stopped by TestMain.
var shared struct {
	mu      sync.Mutex
	server  *redistest.Server
	cluster *redistest.Cluster
}

func closeShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.server != nil {
		shared.server.Close()
	}
	if shared.cluster != nil {
		shared.cluster.Close()
	}
}

var redisTopologies = []redisTopology{
	{"standalone", func(t *testing.T) redis.UniversalClient {
		shared.mu.Lock()
		if shared.server == nil {
			s, err := redistest.NewServer()
			if err != nil {
				shared.mu.Unlock()
				t.Fatal(err)
			}
			shared.server = s
		}
		s := shared.server
		shared.mu.Unlock()
		c := s.Client(t)
		if err := c.FlushAll(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
		return c
	}},
	{"cluster", func(t *testing.T) redis.UniversalClient {
		shared.mu.Lock()
		if shared.cluster == nil {
			c, err := redistest.NewCluster()
			if err != nil {
				shared.mu.Unlock()
				t.Fatal(err)
			}
			shared.cluster = c
		}
		c := shared.cluster
		shared.mu.Unlock()
		if err := c.FlushAll(context.Background()); err != nil {
			t.Fatal(err)
		}
		return c.Client(t)
	}},
}

func forEachRedis(t *testing.T, fn func(t *testing.T, rdb redis.UniversalClient, dist *redisstore.Store)) {
	for _, tp := range redisTopologies {
		t.Run(tp.name, func(t *testing.T) {
			rdb := tp.client(t)
			fn(t, rdb, redisstore.New(rdb, redisstore.Options{}))
		})
	}
}

// newLocal returns a memstore closed on cleanup.
func newLocal(t testing.TB) *memstore.Store {
	s := memstore.New(memstore.WithSweepInterval(0))
	t.Cleanup(func() { s.Close() })
	return s
}

func mustSet(t testing.TB, s store.Store, id string, rec store.Record) {
	t.Helper()
	if err := s.Set(context.Background(), id, rec); err != nil {
		t.Fatalf("Set: %v", err)
	}
}

func mustDeleteVersion(t testing.TB, s store.Versioned, id string, v uint64) {
	t.Helper()
	if err := s.DeleteVersion(context.Background(), id, v, expiry); err != nil {
		t.Fatalf("DeleteVersion: %v", err)
	}
}

// hookedDist wraps a distributed store so a test can act on each batch
// read; it keeps the batch and scan capabilities.
type hookedDist struct {
	*redisstore.Store
	mu     sync.Mutex
	reads  int
	onRead func(n int) // called before the n-th GetMany (1-based)
}

func (h *hookedDist) GetMany(ctx context.Context, ids []string) ([]store.Lookup, error) {
	h.mu.Lock()
	h.reads++
	n, fn := h.reads, h.onRead
	h.mu.Unlock()
	if fn != nil {
		fn(n)
	}
	return h.Store.GetMany(ctx, ids)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}
