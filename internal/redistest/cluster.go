package redistest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterSize is the number of masters in a Cluster.
const clusterSize = 3

// clusterArgs make a server a cluster node. A short node timeout keeps
// failure detection quick in fault tests.
var clusterArgs = []string{
	"--cluster-enabled", "yes",
	"--cluster-config-file", "nodes.conf",
	"--cluster-node-timeout", "2000",
}

// Cluster is a Redis Cluster of three masters and no replicas on free
// loopback ports; the 16384 slots are split evenly, in address order.
type Cluster struct {
	// Addrs are the masters' addresses, in the order of Servers.
	Addrs []string
	// Servers are the master processes; Kill and Restart work on them (a
	// restarted node keeps its nodes.conf and rejoins).
	Servers []*Server
}

// NewCluster starts three cluster nodes, splits the slots evenly between
// them and joins them (what `redis-cli --cluster create --cluster-replicas 0`
// does), and returns once every node reports cluster_state:ok and a cluster
// client can SET and GET a key in every master's slot range. The caller must call Close; prefer [StartCluster] in
// tests.
func NewCluster() (*Cluster, error) {
	c := &Cluster{}
	for range clusterSize {
		s, err := newServer(serverSpec{busPort: true, args: clusterArgs})
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("redistest: cluster: %w", err)
		}
		c.Servers = append(c.Servers, s)
		c.Addrs = append(c.Addrs, s.Addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := c.create(ctx); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.WaitHealthy(ctx); err != nil {
		err = fmt.Errorf("redistest: cluster: %w\n%s", err, c.logTails())
		c.Close()
		return nil, err
	}
	return c, nil
}

// StartCluster is [NewCluster] for a test: it fails tb on error and closes
// the cluster when tb's cleanup runs.
func StartCluster(tb testing.TB) *Cluster {
	tb.Helper()
	c, err := NewCluster()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := c.Close(); err != nil {
			tb.Error(err)
		}
	})
	return c
}

// create assigns each node an equal share of the slots and a distinct config
// epoch and introduces the nodes to each other, as `redis-cli --cluster
// create --cluster-replicas 0` does, but without redis-cli's fixed one-second
// waits: the caller polls for health instead.
func (c *Cluster) create(ctx context.Context) error {
	n := len(c.Servers)
	first := redis.NewClient(c.Servers[0].Options())
	defer first.Close()
	for i, s := range c.Servers {
		client := redis.NewClient(s.Options())
		lo, hi := i*16384/n, (i+1)*16384/n-1
		err := client.ClusterAddSlotsRange(ctx, lo, hi).Err()
		if err == nil {
			// Distinct epochs spare the nodes the collision-resolution
			// rounds they would otherwise need to agree on slot owners.
			err = client.Do(ctx, "cluster", "set-config-epoch", i+1).Err()
		}
		client.Close()
		if err != nil {
			return fmt.Errorf("redistest: cluster: %s: %w", s.Addr, err)
		}
		if i > 0 {
			err := first.Do(ctx, "cluster", "meet", "127.0.0.1", s.Port, s.busPort).Err()
			if err != nil {
				return fmt.Errorf("redistest: cluster: meet %s: %w", s.Addr, err)
			}
		}
	}
	return nil
}

// WaitHealthy polls until every node reports cluster_state:ok with all 16384
// slots assigned and all nodes known, and a fresh cluster client can SET and
// GET a key in each master's first slot range. It returns ctx's error
// (with the last failure) if that does not happen before ctx ends. Fault
// tests call it after restarting a node.
func (c *Cluster) WaitHealthy(ctx context.Context) error {
	if err := poll(ctx, c.healthy); err != nil {
		return fmt.Errorf("cluster not healthy: %w", err)
	}
	return nil
}

func (c *Cluster) healthy(ctx context.Context) error {
	for _, s := range c.Servers {
		if err := nodeHealthy(ctx, s, len(c.Servers)); err != nil {
			return err
		}
	}
	client := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                 c.Addrs,
		ContextTimeoutEnabled: true,
		MaxRedirects:          -1, // a redirect means the slot map is not settled yet
	})
	defer client.Close()
	slots, err := client.ClusterSlots(ctx).Result()
	if err != nil {
		return err
	}
	if len(slots) < len(c.Servers) {
		return fmt.Errorf("CLUSTER SLOTS lists %d ranges, want at least %d", len(slots), len(c.Servers))
	}
	for _, r := range slots {
		key := keyInSlot(r.Start)
		if err := client.Set(ctx, key, "ok", time.Minute).Err(); err != nil {
			return fmt.Errorf("SET in slot %d: %w", r.Start, err)
		}
		got, err := client.Get(ctx, key).Result()
		if err != nil {
			return fmt.Errorf("GET in slot %d: %w", r.Start, err)
		}
		if got != "ok" {
			return fmt.Errorf("GET in slot %d: got %q, want %q", r.Start, got, "ok")
		}
		if err := client.Del(ctx, key).Err(); err != nil {
			return fmt.Errorf("DEL in slot %d: %w", r.Start, err)
		}
	}
	return nil
}

func nodeHealthy(ctx context.Context, s *Server, nodes int) error {
	client := redis.NewClient(s.Options())
	defer client.Close()
	info, err := client.ClusterInfo(ctx).Result()
	if err != nil {
		return fmt.Errorf("%s: CLUSTER INFO: %w", s.Addr, err)
	}
	fields := parseInfo(info)
	want := map[string]string{
		"cluster_state":          "ok",
		"cluster_slots_ok":       "16384",
		"cluster_known_nodes":    strconv.Itoa(nodes),
		"cluster_slots_assigned": "16384",
	}
	for k, v := range want {
		if fields[k] != v {
			return fmt.Errorf("%s: %s is %q, want %q", s.Addr, k, fields[k], v)
		}
	}
	return nil
}

// parseInfo splits INFO-style "key:value" lines.
func parseInfo(info string) map[string]string {
	fields := make(map[string]string)
	for line := range strings.SplitSeq(info, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			fields[k] = v
		}
	}
	return fields
}

// Client returns a new cluster client of c (ContextTimeoutEnabled set) that
// is closed when tb's cleanup runs.
func (c *Cluster) Client(tb testing.TB) *redis.ClusterClient {
	tb.Helper()
	client := redis.NewClusterClient(c.Options())
	tb.Cleanup(func() { client.Close() })
	return client
}

// Options returns go-redis cluster options for a client of c, with
// ContextTimeoutEnabled set.
func (c *Cluster) Options() *redis.ClusterOptions {
	return &redis.ClusterOptions{Addrs: append([]string(nil), c.Addrs...), ContextTimeoutEnabled: true}
}

// FlushAll runs FLUSHALL on every master, so tests sharing one cluster start
// empty. It fails if a master is down.
func (c *Cluster) FlushAll(ctx context.Context) error {
	var errs []error
	for _, s := range c.Servers {
		client := redis.NewClient(s.Options())
		if err := client.FlushAll(ctx).Err(); err != nil {
			errs = append(errs, fmt.Errorf("redistest: flushall %s: %w", s.Addr, err))
		}
		client.Close()
	}
	return errors.Join(errs...)
}

// Close kills every node and removes their directories. It is idempotent.
func (c *Cluster) Close() error {
	var errs []error
	for _, s := range c.Servers {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

func (c *Cluster) logTails() string {
	var b strings.Builder
	for _, s := range c.Servers {
		fmt.Fprintf(&b, "=== node %s ===\n%s", s.Addr, s.LogTail())
	}
	return b.String()
}
