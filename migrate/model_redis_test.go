package migrate

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// The model tests again, with a real redis-server as the distributed store:
// memstore standing in for Redis proves the routing, this proves it against
// the Lua compare-and-set, tombstones and expiry of the real thing.

var prefixSeq atomic.Int64

// redisDist returns a newDistFunc on client, each run under its own key
// prefix so runs never see each other's keys.
func redisDist(client redis.UniversalClient) newDistFunc {
	return func(t *testing.T) store.Versioned {
		prefix := fmt.Sprintf("model%d:", prefixSeq.Add(1))
		return redisstore.New(client, redisstore.Options{Prefix: prefix})
	}
}

func TestModelRedisStandalone(t *testing.T) {
	srv := redistest.StartServer(t)
	dist := redisDist(srv.Client(t))
	t.Run("sequential", func(t *testing.T) { runModel(t, dist) })
	t.Run("concurrent", func(t *testing.T) { runModelConcurrent(t, dist) })
}

func TestModelRedisCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster model test skipped in -short mode")
	}
	c := redistest.StartCluster(t)
	dist := redisDist(c.Client(t))
	t.Run("sequential", func(t *testing.T) { runModel(t, dist) })
	t.Run("concurrent", func(t *testing.T) { runModelConcurrent(t, dist) })
}
