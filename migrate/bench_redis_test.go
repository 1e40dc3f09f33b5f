package migrate

import (
	"context"
	"errors"
	"flag"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

var backfillSessions = flag.Int("backfill.sessions", 100000, "sessions in BenchmarkBackfill (the issue's figure is 1000000)")
var backfillConcurrency = flag.Int("backfill.concurrency", 0, "BackfillOptions.Concurrency in BenchmarkBackfill (0: the default)")

// BenchmarkRamp100 compares the Migrator at ramp 100 (every read from Redis,
// local still written) with redisstore called directly on the same server:
// the goal is at most 1.10x the time (Get/interleaved's ratio).
func BenchmarkRamp100(b *testing.B) {
	srv := redistest.StartServer(b)
	client := srv.Client(b)
	ctx := context.Background()
	ids := benchIDs()[:1000]
	direct := redisstore.New(client, redisstore.Options{Prefix: "direct:"})
	local := memstore.New()
	defer local.Close()
	m, err := New(local, redisstore.New(client, redisstore.Options{Prefix: "mig:"}), Options{Stage: Ramp, Percent: 100, DistTimeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	rec := store.Record{Data: make([]byte, 512), ExpiresAt: time.Now().Add(time.Hour)}
	for i, id := range ids {
		rec.Version = uint64(i + 1)
		if err := direct.Set(ctx, id, rec); err != nil {
			b.Fatal(err)
		}
		if err := m.Set(ctx, id, rec); err != nil {
			b.Fatal(err)
		}
	}
	get := func(s store.Store, i int) error {
		_, found, err := s.Get(ctx, ids[i%len(ids)])
		if err == nil && !found {
			return errors.New("miss")
		}
		return err
	}
	// The two sides interleaved: the ratio metric is the goal's figure.
	b.Run("Get/interleaved", func(b *testing.B) {
		interleave(b, 64, "redisstore", "migrator",
			func(i int) error { return get(direct, i) },
			func(i int) error { return get(m, i) })
	})
	for _, c := range []struct {
		name string
		s    store.Store
	}{{"redisstore", direct}, {"migrator", m}} {
		b.Run("Get/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, found, err := c.s.Get(ctx, ids[i%len(ids)]); err != nil || !found {
					b.Fatalf("found=%v err=%v", found, err)
				}
				i++
			}
		})
	}
}

// BenchmarkBackfill copies -backfill.sessions sessions of 512 B from a
// memstore into a local redis-server and reports, like for like (the
// server flushed before each side, the same session count and value size):
//
//   - sessions/s: the backfill's rate;
//   - x-floor: that rate over the floor of the two-key layout, two SETs
//     with an expiry per session pipelined from Go, 1000 sessions per
//     pipeline and 4 in flight as Backfill, with no read, no check and no
//     script (twoSetPipeline);
//   - x-redis-benchmark: that rate over `redis-benchmark -P 16 -d 512 -t
//     set` writing as many keys into the emptied server.
//
// Run it with -benchtime 1x; the figures quoted use -backfill.sessions
// 1000000.
func BenchmarkBackfill(b *testing.B) {
	srv := redistest.StartServer(b)
	client := srv.Client(b)
	ctx := context.Background()
	n := *backfillSessions
	for b.Loop() {
		b.StopTimer()
		if err := client.FlushAll(ctx).Err(); err != nil {
			b.Fatal(err)
		}
		local := memstore.New()
		m, err := New(local, redisstore.New(client, redisstore.Options{}), Options{Stage: Dual, DisableGuard: true})
		if err != nil {
			b.Fatal(err)
		}
		exp := time.Now().Add(time.Hour)
		data := make([]byte, 512)
		for i := range n {
			// Fill local directly: the sessions predate the migration.
			if err := local.Set(ctx, "s"+strconv.Itoa(i), store.Record{Data: data, ExpiresAt: exp, Version: uint64(i + 1)}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		start := time.Now()
		p, err := m.Backfill(ctx, BackfillOptions{BatchSize: 1000, Concurrency: *backfillConcurrency})
		el := time.Since(start)
		b.StopTimer()
		if err != nil || p.Copied != int64(n) {
			b.Fatalf("backfill: %+v, %v", p, err)
		}
		rate := float64(n) / el.Seconds()
		b.ReportMetric(rate, "sessions/s")
		m.Close()
		local.Close()
		// Each side starts from an empty server: a server already holding
		// the backfilled keys makes redis-benchmark's SETs overwrites.
		if err := client.FlushAll(ctx).Err(); err != nil {
			b.Fatal(err)
		}
		if rb, err := redisBenchmarkSet(srv.Addr, n); err == nil {
			b.ReportMetric(rb, "redis-benchmark-set/s")
			b.ReportMetric(rate/rb, "x-redis-benchmark")
		} else {
			b.Logf("redis-benchmark: %v", err)
		}
		// The floor of the storage layout: a session is two keys with an
		// expiry (data and sidecar), so compare with those two SETs
		// pipelined from Go with no read, no check and no script.
		if err := client.FlushAll(ctx).Err(); err != nil {
			b.Fatal(err)
		}
		two := twoSetPipeline(ctx, b, client, n, data, exp)
		b.ReportMetric(two, "two-set-pipeline/s")
		b.ReportMetric(rate/two, "x-floor")
		b.StartTimer()
	}
}

// twoSetPipeline writes n sessions as two keys of about the layout's
// sizes, each `SET key value PXAT` (the data, and a short version beside
// it), in pipelines of 1000 sessions, 4 in flight (as Backfill), and
// returns sessions per second. The second key's name is not the sidecar's
// (that format is redisstore's own): on one server only the work counts.
func twoSetPipeline(ctx context.Context, b *testing.B, client redis.UniversalClient, n int, data []byte, exp time.Time) float64 {
	const batch = 1000
	px := exp.UnixMilli()
	starts := make(chan int)
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	start := time.Now()
	for range 4 {
		wg.Go(func() {
			for first := range starts {
				_, err := client.Pipelined(ctx, func(p redis.Pipeliner) error {
					for i := first; i < min(first+batch, n); i++ {
						key := "scs:session:s" + strconv.Itoa(i)
						p.Do(ctx, "SET", key, data, "PXAT", px)
						// A value about the sidecar's size (version and expiry).
						p.Do(ctx, "SET", key+":version", "d"+strconv.Itoa(i+1)+":"+strconv.FormatInt(px, 10), "PXAT", px)
					}
					return nil
				})
				if err != nil {
					errs <- err
					for range starts { // drain so the sender finishes
					}
					return
				}
			}
		})
	}
	for first := 0; first < n; first += batch {
		starts <- first
	}
	close(starts)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	return float64(n) / time.Since(start).Seconds()
}

var rpsRE = regexp.MustCompile(`([0-9.]+) requests per second`)

// redisBenchmarkSet runs redis-benchmark -P 16 -d 512 -t set -n n against
// addr and returns its requests per second.
func redisBenchmarkSet(addr string, n int) (float64, error) {
	host, port, _ := strings.Cut(addr, ":")
	out, err := exec.Command("redis-benchmark", "-h", host, "-p", port, "-P", "16", "-d", "512",
		"-t", "set", "-n", strconv.Itoa(n), "-r", strconv.Itoa(n), "-q").CombinedOutput()
	if err != nil {
		return 0, err
	}
	m := rpsRE.FindSubmatch(out)
	if m == nil {
		return 0, &exec.Error{Name: "redis-benchmark", Err: strconv.ErrSyntax}
	}
	return strconv.ParseFloat(string(m[1]), 64)
}
