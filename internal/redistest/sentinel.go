package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// MasterName is the name under which a Sentinel monitors its master.
const MasterName = "mymaster"

// Sentinel is a sentinel topology: a master, one replica of it and one
// sentinel monitoring the master as [MasterName] with quorum 1, so a
// failover can be forced in fault tests (SENTINEL FAILOVER).
type Sentinel struct {
	// MasterName is the monitored master's name, [MasterName].
	MasterName string
	// SentinelAddrs are the sentinels' addresses.
	SentinelAddrs []string
	// Master and Replica are the data nodes as started; after a failover
	// their roles are swapped.
	Master, Replica *Server
	// Sentinels are the sentinel processes.
	Sentinels []*Server
}

// NewSentinel starts a master, a replica (returning once it is in sync) and a
// sentinel, and returns once the sentinel reports the master and knows the
// replica. The caller must call Close; prefer [StartSentinel] in tests.
func NewSentinel() (*Sentinel, error) {
	s := &Sentinel{MasterName: MasterName}
	var err error
	if s.Master, err = NewServer(); err != nil {
		return nil, fmt.Errorf("redistest: sentinel: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := s.start(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("redistest: sentinel: %w", err)
	}
	return s, nil
}

// StartSentinel is [NewSentinel] for a test: it fails tb on error and closes
// the topology when tb's cleanup runs.
func StartSentinel(tb testing.TB) *Sentinel {
	tb.Helper()
	s, err := NewSentinel()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

func (s *Sentinel) start(ctx context.Context) error {
	host, port, _ := net.SplitHostPort(s.Master.Addr)
	var err error
	if s.Replica, err = NewServer("--replicaof", host, port); err != nil {
		return err
	}
	if err := poll(ctx, func(ctx context.Context) error { return replicaInSync(ctx, s.Replica) }); err != nil {
		return fmt.Errorf("replica: %w\n%s", err, s.Replica.LogTail())
	}
	// Sentinel rewrites its config file, so it needs one of its own.
	conf := fmt.Sprintf("sentinel resolve-hostnames no\n"+
		"sentinel monitor %[1]s %[2]s %[3]s 1\n"+
		"sentinel down-after-milliseconds %[1]s 1000\n"+
		"sentinel failover-timeout %[1]s 3000\n"+
		"sentinel parallel-syncs %[1]s 1\n", s.MasterName, host, port)
	sentinel, err := newServer(serverSpec{conf: conf, sentinel: true})
	if err != nil {
		return err
	}
	s.Sentinels = append(s.Sentinels, sentinel)
	s.SentinelAddrs = append(s.SentinelAddrs, sentinel.Addr)
	if err := poll(ctx, func(ctx context.Context) error { return s.sentinelReady(ctx, sentinel) }); err != nil {
		return fmt.Errorf("sentinel: %w\n%s", err, sentinel.LogTail())
	}
	return nil
}

func replicaInSync(ctx context.Context, replica *Server) error {
	c := redis.NewClient(replica.Options())
	defer c.Close()
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return err
	}
	if got := parseInfo(info)["master_link_status"]; got != "up" {
		return fmt.Errorf("master_link_status is %q, want %q", got, "up")
	}
	return nil
}

func (s *Sentinel) sentinelReady(ctx context.Context, sentinel *Server) error {
	c := redis.NewSentinelClient(&redis.Options{Addr: sentinel.Addr, ContextTimeoutEnabled: true})
	defer c.Close()
	addr, err := c.GetMasterAddrByName(ctx, s.MasterName).Result()
	if err != nil {
		return err
	}
	if got := net.JoinHostPort(addr[0], addr[1]); got != s.Master.Addr {
		return fmt.Errorf("sentinel reports master %s, want %s", got, s.Master.Addr)
	}
	replicas, err := c.Replicas(ctx, s.MasterName).Result()
	if err != nil {
		return err
	}
	for _, r := range replicas {
		if net.JoinHostPort(fmt.Sprint(r["ip"]), fmt.Sprint(r["port"])) == s.Replica.Addr {
			return nil
		}
	}
	return fmt.Errorf("sentinel does not know replica %s yet", s.Replica.Addr)
}

// FailoverOptions returns go-redis failover options for a client of the
// monitored master, with ContextTimeoutEnabled set.
func (s *Sentinel) FailoverOptions() *redis.FailoverOptions {
	return &redis.FailoverOptions{
		MasterName:            s.MasterName,
		SentinelAddrs:         append([]string(nil), s.SentinelAddrs...),
		ContextTimeoutEnabled: true,
	}
}

// Client returns a new sentinel-backed client (redis.NewFailoverClient) of
// the monitored master that is closed when tb's cleanup runs.
func (s *Sentinel) Client(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewFailoverClient(s.FailoverOptions())
	tb.Cleanup(func() { c.Close() })
	return c
}

// Close stops the sentinels, then the replica and the master, and removes
// their directories. It is idempotent.
func (s *Sentinel) Close() error {
	var errs []error
	for _, srv := range s.Sentinels {
		errs = append(errs, srv.Close())
	}
	for _, srv := range []*Server{s.Replica, s.Master} {
		if srv != nil {
			errs = append(errs, srv.Close())
		}
	}
	return errors.Join(errs...)
}

// poll calls check every pollInterval until it succeeds or ctx ends.
func poll(ctx context.Context, check func(context.Context) error) error {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}
