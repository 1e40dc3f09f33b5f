package consistency_test

import (
	"context"
	"flag"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/consistency"
	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

var fullDiffSessions = flag.Int("fulldiff.sessions", 20000, "sessions in BenchmarkFullDiff (quote figures from 1000000)")

// BenchmarkFullDiff runs a whole full diff of -fulldiff.sessions sessions of
// 512 B, all equal, between a memstore and a local redis-server: the local
// pass (every session read from Redis in pipelined batches) and the scan of
// Redis for extras (SCAN, member hashes; nothing to confirm). It reports:
//
//   - sessions/s: sessions diffed per second;
//   - x-floor: that rate over the floor measured in the same iteration on
//     the same server and keys: every key the sessions occupy (data and
//     sidecar) read with pipelined two-key MGETs, in the diff's batch size
//     and concurrency, with no decoding, no comparison and no scan. The
//     goal is >= 0.8. The two sides alternate which goes first;
//   - x-redis-benchmark: sessions/s over `redis-benchmark -P 16 -d 512 -t
//     get` on as many keys, run once at the end on a flushed server;
//   - x-floor-pass and scan-share, to see where the time goes: the local
//     pass alone against the floor, and the share of the diff's time the
//     scan for extras takes.
//
// Run it with -benchtime 3x or so; the figures quoted use
// -fulldiff.sessions 1000000.
func BenchmarkFullDiff(b *testing.B) {
	srv := redistest.StartServer(b)
	rdb := srv.Client(b)
	ctx := context.Background()
	n := *fullDiffSessions
	local := newLocal(b)
	dist := redisstore.New(rdb, redisstore.Options{})
	exp := time.Now().Add(time.Hour)
	data := make([]byte, 512)
	entries := make([]store.Entry, 0, 1000)
	for i := range n {
		id := "s" + strconv.Itoa(i) + "-0123456789abcdefghijklmnopqrstuvwxyz"
		rec := store.Record{Data: data, ExpiresAt: exp, Version: uint64(i + 1)}
		mustSet(b, local, id, rec)
		entries = append(entries, store.Entry{ID: id, Record: rec})
		if len(entries) == cap(entries) || i == n-1 {
			if _, err := dist.SetMany(ctx, entries); err != nil {
				b.Fatal(err)
			}
			entries = entries[:0]
		}
	}
	keys := allKeys(b, rdb)
	if len(keys) != 2*n {
		b.Fatalf("Redis holds %d keys, want %d (data and sidecar per session)", len(keys), 2*n)
	}
	cfg := consistency.DiffConfig{Local: local, Distributed: dist, MemberKey: "bench"}
	var diffTime, passTime, floorTime time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		diff := func() {
			pass, scan := fullDiff(b, cfg)
			passTime += pass
			diffTime += pass + scan
		}
		floor := func() { floorTime += timed(func() { mgetFloor(b, rdb, keys) }) }
		if i%2 == 0 {
			diff()
			floor()
		} else {
			floor()
			diff()
		}
	}
	b.StopTimer()
	rate := float64(n*b.N) / diffTime.Seconds()
	b.ReportMetric(rate, "sessions/s")
	b.ReportMetric(rate/(float64(n*b.N)/floorTime.Seconds()), "x-floor")
	b.ReportMetric(floorTime.Seconds()/passTime.Seconds(), "x-floor-pass")
	b.ReportMetric(1-passTime.Seconds()/diffTime.Seconds(), "scan-share")
	if err := rdb.FlushAll(ctx).Err(); err != nil {
		b.Fatal(err)
	}
	if rb, err := redisBenchmark(srv.Addr, n, "get"); err == nil {
		b.ReportMetric(rate/rb, "x-redis-benchmark")
	} else {
		b.Logf("redis-benchmark: %v", err)
	}
}

func timed(fn func()) time.Duration {
	start := time.Now()
	fn()
	return time.Since(start)
}

// fullDiff runs the passes of a full diff of one instance, requires it
// clean and returns how long the local pass and the scan took.
func fullDiff(b *testing.B, cfg consistency.DiffConfig) (passTime, scanTime time.Duration) {
	ctx := context.Background()
	start := time.Now()
	pass, err := consistency.LocalPass(ctx, cfg)
	if err != nil || pass.Mismatches.Total() != 0 {
		b.Fatalf("local pass: %+v, %v", pass.Mismatches, err)
	}
	passTime = time.Since(start)
	scan, err := consistency.ScanExtras(ctx, cfg, pass.Members)
	if err != nil || len(scan.Candidates) != 0 {
		b.Fatalf("scan: %d candidates, %v", len(scan.Candidates), err)
	}
	return passTime, time.Since(start) - passTime
}

// mgetFloor reads keys two per MGET, in pipelines of the diff's batch size
// (DefaultDiffBatch sessions), DefaultDiffConcurrency pipelines in flight.
func mgetFloor(b testing.TB, rdb redis.UniversalClient, keys []string) {
	ctx := context.Background()
	const batch = 2 * consistency.DefaultDiffBatch
	starts := make(chan int)
	var wg sync.WaitGroup
	var failed error
	var mu sync.Mutex
	for range consistency.DefaultDiffConcurrency {
		wg.Go(func() {
			for first := range starts {
				cmds := make([]*redis.SliceCmd, 0, batch/2)
				_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
					for i := first; i+1 < min(first+batch, len(keys)); i += 2 {
						cmds = append(cmds, p.MGet(ctx, keys[i], keys[i+1]))
					}
					return nil
				})
				if err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
				}
			}
		})
	}
	for first := 0; first < len(keys); first += batch {
		starts <- first
	}
	close(starts)
	wg.Wait()
	if failed != nil {
		b.Fatal(failed)
	}
}

// allKeys lists every key of the server.
func allKeys(b testing.TB, rdb *redis.Client) []string {
	var keys []string
	iter := rdb.Scan(context.Background(), 0, "*", 1000).Iterator()
	for iter.Next(context.Background()) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		b.Fatal(err)
	}
	return keys
}

var rpsRE = regexp.MustCompile(`([0-9.]+) requests per second`)

// redisBenchmark fills addr with n keys of 512 B (redis-benchmark -t set)
// and returns the requests per second of redis-benchmark -P 16 -d 512 -t
// test -n n -r n.
func redisBenchmark(addr string, n int, test string) (float64, error) {
	host, port, _ := strings.Cut(addr, ":")
	args := func(t string) []string {
		return []string{"-h", host, "-p", port, "-P", "16", "-d", "512", "-t", t, "-n", strconv.Itoa(n), "-r", strconv.Itoa(n), "-q"}
	}
	if test != "set" {
		if out, err := exec.Command("redis-benchmark", args("set")...).CombinedOutput(); err != nil {
			return 0, &exec.Error{Name: "redis-benchmark", Err: errorString(string(out))}
		}
	}
	out, err := exec.Command("redis-benchmark", args(test)...).CombinedOutput()
	if err != nil {
		return 0, err
	}
	m := rpsRE.FindSubmatch(out)
	if m == nil {
		return 0, &exec.Error{Name: "redis-benchmark", Err: errorString("no rate in its output")}
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

type errorString string

func (e errorString) Error() string { return string(e) }
