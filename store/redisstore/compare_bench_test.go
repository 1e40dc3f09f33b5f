package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/store"
)

// BenchmarkCompare sets this store beside what an application does without
// it, plain GETs and SETs of the same keys on the same redis-server, and
// reports both sides and their ratio from one run (b.ReportMetric), so the
// README quotes figures measured side by side. Each side starts from a
// flushed server holding the same number of sessions of the same size
// (512 B, ids shaped like scs tokens, versions shaped like the Migrator's
// hybrid logical clock). Run it with a fixed count, for example
//
//	go test -run '^$' -bench Compare -benchtime 20000x ./store/redisstore
//
// -benchtime counts Gets per side for the reads; Copies and Memory write
// -compare.copies and -compare.memory sessions per side instead, in
// -compare.rounds rounds.
func BenchmarkCompare(b *testing.B) {
	srv := redistest.StartServer(b)
	cmp := &comparison{b: b, c: srv.Client(b), ctx: context.Background(), data: make([]byte, compareValue)}
	cmp.s = New(cmp.c, Options{})
	cmp.ids = compareIDs(compareSessions)
	b.Run("ServerTime", cmp.serverTime)
	for _, g := range []int{8, 64} {
		b.Run("Throughput/goroutines="+strconv.Itoa(g), func(b *testing.B) { cmp.throughput(b, g) })
	}
	b.Run("Allocs", cmp.allocs)
	for _, over := range []copyTarget{copyNew, copyOlder, copySame} {
		b.Run("Copies/"+over.String(), func(b *testing.B) { cmp.copies(b, over) })
	}
	b.Run("Memory", cmp.memory)
}

const (
	compareSessions = 1000 // sessions the reads cycle through
	compareValue    = 512  // bytes per session
	compareRounds   = 4    // alternating blocks per side, against drift
)

var (
	copySessions = flag.Int("compare.copies", 40000, "sessions per side and round in BenchmarkCompare/Copies")
	memSessions  = flag.Int("compare.memory", 12000, "sessions per side in BenchmarkCompare/Memory (12000 and 24000 keys leave no hash table mid-rehash)")
	writeRounds  = flag.Int("compare.rounds", 3, "rounds of BenchmarkCompare/Copies and Memory, each side first in turn")
)

type comparison struct {
	b    *testing.B
	c    *redis.Client
	s    *Store
	ctx  context.Context
	ids  []string
	data []byte
}

// compareIDs returns n session ids shaped like scs's: 32 random-looking
// bytes in unpadded base64url, 43 characters.
func compareIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		sum := sha256.Sum256([]byte(strconv.Itoa(i)))
		ids[i] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return ids
}

// version is a version as the Migrator's clock issues them: wall-clock
// microseconds shifted left by 10, plus a counter.
func version(i int) uint64 { return uint64(time.Now().UnixMicro())<<10 + uint64(i) }

// flush empties the server, failing b on error.
func (cmp *comparison) flush(b *testing.B) {
	if err := cmp.c.FlushAll(cmp.ctx).Err(); err != nil {
		b.Fatal(err)
	}
}

// fillStore writes ids through the store, versioned, with SetMany.
func (cmp *comparison) fillStore(b *testing.B, ids []string) {
	exp := time.Now().Add(time.Hour)
	for start := 0; start < len(ids); start += 500 {
		batch := make([]store.Entry, 0, 500)
		for i, id := range ids[start:min(start+500, len(ids))] {
			batch = append(batch, store.Entry{ID: id, Record: store.Record{Data: cmp.data, ExpiresAt: exp, Version: version(start + i)}})
		}
		if _, err := cmp.s.SetMany(cmp.ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}

// fillPlain writes ids as the application would alone: SET key value PXAT.
func (cmp *comparison) fillPlain(b *testing.B, ids []string) {
	px := time.Now().Add(time.Hour).UnixMilli()
	if _, err := cmp.c.Pipelined(cmp.ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			p.Do(cmp.ctx, "SET", DefaultPrefix+id, cmp.data, "PXAT", px)
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
}

func (cmp *comparison) get(i int) error {
	_, found, err := cmp.s.Get(cmp.ctx, cmp.ids[i%len(cmp.ids)])
	if err == nil && !found {
		cmp.b.Fatal("Get: a miss, want every session found")
	}
	return err
}

func (cmp *comparison) plainGet(i int) error {
	_, err := cmp.c.Get(cmp.ctx, DefaultPrefix+cmp.ids[i%len(cmp.ids)]).Bytes()
	return err
}

// floorGet reads session i's two keys with go-redis's MGET, decoding
// nothing.
func (cmp *comparison) floorGet(i int) error {
	dk, sk := cmp.s.recordKeys(cmp.ids[i%len(cmp.ids)])
	vals, err := cmp.c.MGet(cmp.ctx, dk, sk).Result()
	if err == nil && (vals[0] == nil || vals[1] == nil) {
		cmp.b.Fatal("MGET: a key is missing, want both")
	}
	return err
}

// serverTime compares the Redis server time per Get with a GET's, from
// INFO commandstats: every command the side sent, over the calls made.
// commandstats times the commands' bodies only, not reading, parsing and
// answering each request, so it also reports the server's CPU time per
// call (INFO cpu), which includes those: what decides how many reads one
// server serves. A third side sends go-redis's own MGET of the data key
// and its sidecar on the store's state: the floor of any read under
// invariant 7 (the metadata lives in a second key), so floor-ratio is
// what that layout costs against GET and ratio-to-floor what the store
// adds to it.
func (cmp *comparison) serverTime(b *testing.B) {
	const ours, plain, floor = 0, 1, 2
	per := max(b.N/compareRounds, 1)
	var usec, cpu [3]float64
	var scripts int64
	for round := range compareRounds {
		for k := range 3 {
			side := (round + k) % 3 // rotate which side goes first
			cmp.flush(b)
			op := cmp.get
			switch side {
			case ours:
				cmp.fillStore(b, cmp.ids)
			case plain:
				cmp.fillPlain(b, cmp.ids)
				op = cmp.plainGet
			case floor:
				cmp.fillStore(b, cmp.ids)
				op = cmp.floorGet
			}
			if err := cmp.c.ConfigResetStat(cmp.ctx).Err(); err != nil {
				b.Fatal(err)
			}
			cpu0 := serverCPU(b, cmp.c)
			for i := range per {
				if err := op(i); err != nil {
					b.Fatal(err)
				}
			}
			cpu[side] += serverCPU(b, cmp.c) - cpu0
			stats, err := commandStats(cmp.ctx, cmp.c)
			if err != nil {
				b.Fatal(err)
			}
			for name, st := range stats {
				if name != "config|resetstat" {
					usec[side] += st.usec
				}
			}
			if side == ours {
				scripts += stats["evalsha_ro"].calls + stats["eval_ro"].calls
			}
		}
	}
	n := float64(per * compareRounds)
	b.ReportMetric(usec[ours]/n, "server-µs/Get")
	b.ReportMetric(usec[plain]/n, "server-µs/GET")
	b.ReportMetric(usec[floor]/n, "server-µs/MGET-floor")
	b.ReportMetric(usec[ours]/usec[plain], "ratio")
	b.ReportMetric(usec[floor]/usec[plain], "floor-ratio")
	b.ReportMetric(usec[ours]/usec[floor], "ratio-to-floor")
	b.ReportMetric(cpu[ours]/n*1e6, "server-cpu-µs/Get")
	b.ReportMetric(cpu[plain]/n*1e6, "server-cpu-µs/GET")
	b.ReportMetric(cpu[ours]/cpu[plain], "cpu-ratio")
	b.ReportMetric(float64(scripts)/n, "scripts/Get")
}

// throughput compares Gets per second with plain GETs of the same data
// keys, g goroutines at a time, on one server state (the store's). Client
// and server share the machine's cores, so it also reports where each
// side's CPU went: this process's (getrusage) and the server's (INFO cpu),
// per call.
func (cmp *comparison) throughput(b *testing.B, g int) {
	cmp.flush(b)
	cmp.fillStore(b, cmp.ids)
	per := max(b.N/compareRounds/g, 1)
	var elapsed [2]time.Duration
	var client, server [2]float64
	run := func(side int, op func(int) error) {
		c0, s0 := processCPU(b), serverCPU(b, cmp.c)
		elapsed[side] += timeWorkers(b, g, func(w int) error {
			for i := range per {
				if err := op(w*per + i); err != nil {
					return err
				}
			}
			return nil
		})
		client[side] += processCPU(b) - c0
		server[side] += serverCPU(b, cmp.c) - s0
	}
	b.ResetTimer()
	for round := range compareRounds {
		if round%2 == 0 {
			run(0, cmp.get)
			run(1, cmp.plainGet)
		} else {
			run(1, cmp.plainGet)
			run(0, cmp.get)
		}
	}
	n := float64(per * g * compareRounds)
	b.ReportMetric(n/elapsed[0].Seconds(), "Get/s")
	b.ReportMetric(n/elapsed[1].Seconds(), "GET/s")
	b.ReportMetric(elapsed[1].Seconds()/elapsed[0].Seconds(), "ratio")
	b.ReportMetric(client[0]/n*1e6, "client-cpu-µs/Get")
	b.ReportMetric(client[1]/n*1e6, "client-cpu-µs/GET")
	b.ReportMetric(server[0]/n*1e6, "server-cpu-µs/Get")
	b.ReportMetric(server[1]/n*1e6, "server-cpu-µs/GET")
}

// allocs counts allocations per Get, with a background context (the store
// adds its Options.Timeout) and with a caller deadline sooner than it (the
// Migrator's case), and per plain GET.
func (cmp *comparison) allocs(b *testing.B) {
	cmp.flush(b)
	cmp.fillStore(b, cmp.ids)
	runs := max(b.N/3, 10)
	deadline, cancel := context.WithTimeout(cmp.ctx, time.Hour)
	defer cancel()
	early := New(cmp.c, Options{Timeout: 2 * time.Hour})
	i := 0
	count := func(f func() error) float64 {
		return testing.AllocsPerRun(runs, func() {
			if err := f(); err != nil {
				b.Fatal(err)
			}
			i++
		})
	}
	b.ReportMetric(count(func() error { return cmp.get(i) }), "allocs/Get")
	b.ReportMetric(count(func() error {
		_, _, err := early.Get(deadline, cmp.ids[i%len(cmp.ids)])
		return err
	}), "allocs/Get-caller-deadline")
	b.ReportMetric(count(func() error { return cmp.plainGet(i) }), "allocs/GET")
}

// copyTarget is what a copy finds in Redis.
type copyTarget int

const (
	copyNew   copyTarget = iota // nothing: a flushed server
	copyOlder                   // the same sessions at a lower version
	copySame                    // the very records it writes (what a backfill finds after dual writes)
)

func (t copyTarget) String() string {
	return [...]string{"new", "existing", "same"}[t]
}

// copies compares SetMany (what Backfill, repairs and reconciliation send)
// with two floors. The floor of this key layout: two pipelined SETs per
// session, data and sidecar, with no read and no check. And the floor of a
// copy under invariant 4, which sends copies through a Lua compare-and-set:
// the store's own SetMany with its script replaced by one that makes the
// same two writes per session and checks nothing (copyFloorLua), so the
// same arguments cross the wire and into Lua. All sides write
// -compare.copies sessions in batches of 512, four batches in flight (as
// Backfill by default), over what over says is there. Reported: sessions
// per second, the ratios to each floor, and the server's CPU time per
// session (INFO cpu) and its ratios.
func (cmp *comparison) copies(b *testing.B, over copyTarget) {
	const batch, inFlight = 512, 4
	const ours, plain, floor = 0, 1, 2
	n := *copySessions
	ids := compareIDs(n)
	exp := time.Now().Add(time.Hour)
	px := exp.UnixMilli()
	vers := make([]uint64, n)
	luaFloor := New(cmp.c, Options{})
	luaFloor.scripts.setManyVersioned = newScript(copyFloorLua)
	setMany := func(s *Store) func(int) error {
		return func(first int) error {
			entries := make([]store.Entry, 0, batch)
			for i := first; i < min(first+batch, n); i++ {
				entries = append(entries, store.Entry{ID: ids[i], Record: store.Record{Data: cmp.data, ExpiresAt: exp, Version: vers[i]}})
			}
			applied, err := s.SetMany(cmp.ctx, entries)
			for i, ok := range applied {
				if err == nil && !ok {
					b.Fatalf("SetMany: entry %d not applied", i)
				}
			}
			return err
		}
	}
	twoSets := func(first int) error {
		_, err := cmp.c.Pipelined(cmp.ctx, func(p redis.Pipeliner) error {
			for i := first; i < min(first+batch, n); i++ {
				dk, sk := cmp.s.recordKeys(ids[i])
				p.Do(cmp.ctx, "SET", dk, cmp.data, "PXAT", px)
				p.Do(cmp.ctx, "SET", sk, recordSidecar(vers[i], px, false), "PXAT", px)
			}
			return nil
		})
		return err
	}
	ops := [3]func(int) error{setMany(cmp.s), twoSets, setMany(luaFloor)}
	var elapsed [3]time.Duration
	var cpu [3]float64
	b.ResetTimer()
	for round := range *writeRounds {
		for k := range 3 {
			side := (round + k) % 3
			b.StopTimer()
			cmp.flush(b)
			if over == copyOlder {
				cmp.fillStore(b, ids)
			}
			for i := range vers {
				vers[i] = version(n + i) // above fillStore's
			}
			if over == copySame {
				inBatches(b, n, batch, inFlight, ops[ours])
			}
			cpu0 := serverCPU(b, cmp.c)
			b.StartTimer()
			elapsed[side] += inBatches(b, n, batch, inFlight, ops[side])
			cpu[side] += serverCPU(b, cmp.c) - cpu0
		}
	}
	sessions := float64(n * *writeRounds)
	b.ReportMetric(sessions/elapsed[ours].Seconds(), "SetMany-sessions/s")
	b.ReportMetric(sessions/elapsed[plain].Seconds(), "two-SET-sessions/s")
	b.ReportMetric(sessions/elapsed[floor].Seconds(), "lua-floor-sessions/s")
	b.ReportMetric(elapsed[plain].Seconds()/elapsed[ours].Seconds(), "ratio")
	b.ReportMetric(elapsed[floor].Seconds()/elapsed[ours].Seconds(), "ratio-to-lua-floor")
	b.ReportMetric(elapsed[plain].Seconds()/elapsed[floor].Seconds(), "lua-floor-ratio")
	b.ReportMetric(cpu[ours]/sessions*1e6, "server-cpu-µs/SetMany-session")
	b.ReportMetric(cpu[plain]/sessions*1e6, "server-cpu-µs/two-SET-session")
	b.ReportMetric(cpu[floor]/sessions*1e6, "server-cpu-µs/lua-floor-session")
	b.ReportMetric(cpu[plain]/cpu[ours], "cpu-ratio")
	b.ReportMetric(cpu[floor]/cpu[ours], "cpu-ratio-to-lua-floor")
	b.ReportMetric(cpu[plain]/cpu[floor], "lua-floor-cpu-ratio")
}

// copyFloorLua has setManyVersionedLua's arguments and result and makes its
// two writes per session, sidecar and data, without reading or comparing
// anything: what any copy through a script costs at least.
const copyFloorLua = `
local res = {}
for i = 1, #KEYS / 2 do
  local j = 4 * i
  redis.call('SET', KEYS[2 * i], ARGV[j], 'PXAT', ARGV[j - 1])
  redis.call('SET', KEYS[2 * i - 1], ARGV[j - 3], 'PXAT', ARGV[j - 1])
  res[i] = 1
end
return res
`

// inBatches calls op(first) for every batch of n sessions, inFlight at a
// time, and returns the time it took.
func inBatches(b *testing.B, n, batch, inFlight int, op func(first int) error) time.Duration {
	starts := make(chan int, (n+batch-1)/batch)
	for first := 0; first < n; first += batch {
		starts <- first
	}
	close(starts)
	return timeWorkers(b, inFlight, func(int) error {
		for first := range starts {
			if err := op(first); err != nil {
				return err
			}
		}
		return nil
	})
}

// timeWorkers runs work(0), ..., work(n-1) on n goroutines, fails b with
// the first error, and returns the time they took.
func timeWorkers(b *testing.B, n int, work func(w int) error) time.Duration {
	errs := make(chan error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range n {
		wg.Go(func() {
			if err := work(w); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	return el
}

// serverCPU returns the server's CPU time so far (user and system), in
// seconds.
func serverCPU(b *testing.B, c *redis.Client) float64 {
	var sum float64
	for _, field := range []string{"used_cpu_user", "used_cpu_sys"} {
		v, err := infoNumber(context.Background(), c, "cpu", field)
		if err != nil {
			b.Fatal(err)
		}
		sum += v
	}
	return sum
}

// memory compares Redis's memory per session (INFO used_memory delta over
// the sessions written into a flushed server) with and without the
// sidecar: the store's SetMany against plain SET PXAT of the same data
// keys. A third side writes the smallest sidecar invariant 7 allows beside
// the same data keys: the same sidecar key and expiry, holding only a
// version, which Redis keeps as an integer (no string allocated), so
// floor-ratio is what any sidecar costs at least.
func (cmp *comparison) memory(b *testing.B) {
	const ours, plain, floor = 0, 1, 2
	ids := compareIDs(*memSessions)
	var bytes [3]float64
	for round := range *writeRounds {
		for k := range 3 {
			side := (round + k) % 3
			cmp.flush(b)
			before := usedMemory(b, cmp.c)
			switch side {
			case ours:
				cmp.fillStore(b, ids)
			case plain:
				cmp.fillPlain(b, ids)
			case floor:
				cmp.fillFloor(b, ids)
			}
			bytes[side] += usedMemory(b, cmp.c) - before
		}
	}
	n := float64(len(ids) * *writeRounds)
	b.ReportMetric(bytes[ours]/n, "B/session")
	b.ReportMetric(bytes[plain]/n, "B/session-data-key-alone")
	b.ReportMetric(bytes[floor]/n, "B/session-floor")
	b.ReportMetric((bytes[ours]-bytes[plain])/n, "B/sidecar")
	b.ReportMetric(bytes[ours]/bytes[plain], "ratio")
	b.ReportMetric(bytes[floor]/bytes[plain], "floor-ratio")
}

// fillFloor writes ids as fillPlain does, each beside the smallest
// sidecar: its key, holding a version as an integer, with the same expiry.
func (cmp *comparison) fillFloor(b *testing.B, ids []string) {
	px := time.Now().Add(time.Hour).UnixMilli()
	if _, err := cmp.c.Pipelined(cmp.ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			dk, sk := cmp.s.recordKeys(id)
			p.Do(cmp.ctx, "SET", dk, cmp.data, "PXAT", px)
			p.Do(cmp.ctx, "SET", sk, strconv.FormatUint(version(i), 10), "PXAT", px)
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	_, sk := cmp.s.recordKeys(ids[0])
	if enc, err := cmp.c.ObjectEncoding(cmp.ctx, sk).Result(); err != nil || enc != "int" {
		b.Fatalf("the floor's sidecar %q is encoded %q (%v), want int", sk, enc, err)
	}
}

// usedMemory returns INFO memory used_memory once it is steady: Redis
// finishes growing a hash table in the background (a millisecond every
// 100 ms), so the figure is read until two reads 200 ms apart agree (at
// most a few seconds).
func usedMemory(b *testing.B, c *redis.Client) float64 {
	prev := -1.0
	for range 15 {
		v, err := infoNumber(context.Background(), c, "memory", "used_memory")
		if err != nil {
			b.Fatal(err)
		}
		if v == prev {
			return v
		}
		prev = v
		time.Sleep(200 * time.Millisecond)
	}
	return prev
}
