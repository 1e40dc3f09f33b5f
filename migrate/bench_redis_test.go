package migrate

import (
	"context"
	"flag"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

var backfillSessions = flag.Int("backfill.sessions", 100000, "sessions in BenchmarkBackfill (the issue's figure is 1000000)")

// BenchmarkRamp100 compares the Migrator at ramp 100 (every read from Redis,
// local still written) with redisstore called directly on the same server:
// the goal is at most 1.10x the time.
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
// memstore into a local redis-server, then runs redis-benchmark -P 16 -d 512
// -t set against the same server, and reports both rates and their ratio.
// Run it with -benchtime 1x; the figure uses -backfill.sessions
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
		p, err := m.Backfill(ctx, BackfillOptions{BatchSize: 1000})
		el := time.Since(start)
		b.StopTimer()
		if err != nil || p.Copied != int64(n) {
			b.Fatalf("backfill: %+v, %v", p, err)
		}
		rate := float64(n) / el.Seconds()
		b.ReportMetric(rate, "sessions/s")
		m.Close()
		local.Close()
		if rb, err := redisBenchmarkSet(srv.Addr, n); err == nil {
			b.ReportMetric(rb, "redis-benchmark-set/s")
			b.ReportMetric(rate/rb, "ratio")
		} else {
			b.Logf("redis-benchmark: %v", err)
		}
		b.StartTimer()
	}
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
