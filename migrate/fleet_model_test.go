package migrate

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// The fleet model check: three Migrators (instances), each with its own
// local store and a clock skewed by up to ±2 s, share one real Redis. Users
// log in, read, write, rotate and log out concurrently, pinned to an
// instance (sticky) until the whole fleet is at complete, then spread over
// every instance (round robin). Meanwhile a driver changes stages through the
// allowed transitions in both directions (instances apply each change one
// after another, so the fleet is mixed for a while, as when flags
// propagate), restarts instances (a fresh local store; their users re-pinned
// to the others), injects Redis faults (errors, ambiguous writes, outages,
// latency beyond the Migrator's timeout), flushes Redis and runs backfills.
//
// Every answer a user gets is checked against a reference model of its own
// session (it is the session's only writer, so the answer is exact): no
// logout, no stale read, no resurrection of a logged-out session, and at the
// end no lost acknowledged write, in the Migrator's answers and in Redis.
// Errors are allowed only while a fault is injected (a read whose session
// local lacks, a write at complete), never a wrong answer. Besides, a few
// shared sessions are written by several users at once at complete, and
// porcupine checks every session's recorded history for linearizability.
//
// Restarts happen with Redis healthy and after a backfill since the fleet
// last left local: the contract promises nothing for a session whose only
// copy was in a process that went away (the local stage, or a write Redis
// never took). The seed is printed; -fleet.seed replays the driver's
// decisions (the interleaving of concurrent users differs run to run).

var (
	fleetSeed     = flag.Uint64("fleet.seed", 0, "seed of the fleet model's driver (0: random)")
	fleetDuration = flag.Duration("fleet.duration", 6*time.Second, "how long the fleet model runs traffic")
)

func TestFleetModelStandalone(t *testing.T) {
	srv := redistest.StartServer(t)
	c := srv.Client(t)
	runFleet(t, c, func(ctx context.Context) error { return c.FlushAll(ctx).Err() })
}

func TestFleetModelCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster fleet model skipped in -short mode")
	}
	cl := redistest.StartCluster(t)
	runFleet(t, cl.Client(t), cl.FlushAll)
}

const (
	fleetInstances = 3
	fleetUsers     = 12
	fleetShared    = 3 // sessions written by several users at complete
	fleetWriters   = 3 // users writing the shared sessions
	fleetMaxSkew   = 2 * time.Second
)

// fleetStats counts what the run saw; the violations must stay zero.
type fleetStats struct {
	ops, allowedErrors, timeouts, restarts, flushes, stageChanges, backfills, faults atomic.Int64
	// violations
	logouts, stale, resurrections, lostWrites, anomalies, failed atomic.Int64
}

func (s *fleetStats) violations() int64 {
	return s.logouts.Load() + s.stale.Load() + s.resurrections.Load() + s.lostWrites.Load() + s.anomalies.Load() + s.failed.Load()
}

func (s *fleetStats) String() string {
	return fmt.Sprintf("ops=%d allowed_errors=%d timeouts=%d restarts=%d flushes=%d stage_changes=%d backfills=%d faults=%d | logouts=%d stale=%d resurrections=%d lost_writes=%d anomalies=%d failed=%d",
		s.ops.Load(), s.allowedErrors.Load(), s.timeouts.Load(), s.restarts.Load(), s.flushes.Load(), s.stageChanges.Load(), s.backfills.Load(), s.faults.Load(),
		s.logouts.Load(), s.stale.Load(), s.resurrections.Load(), s.lostWrites.Load(), s.anomalies.Load(), s.failed.Load())
}

// fleetInstance is one application process. Users hold mu for reading
// while they call m; a restart holds it for writing.
type fleetInstance struct {
	mu    sync.RWMutex
	idx   int
	m     *Migrator
	local *memstore.Store
	fault *faultstore.Store
	skew  time.Duration
}

type fleet struct {
	t        *testing.T
	seed     uint64
	rng      *rand.Rand // the driver's
	client   redis.UniversalClient
	prefix   string
	flushAll func(context.Context) error
	hist     *history
	stats    fleetStats
	insts    []*fleetInstance
	users    []*fleetUser

	// gate pauses all traffic (read-held by every operation) for the
	// actions the model needs atomic: FLUSHALL, switching sticky/round robin.
	gate       sync.RWMutex
	roundRobin atomic.Bool

	// faulty is true while a fault is injected; faultGen counts changes,
	// so an operation that overlapped a fault may fail.
	faulty   atomic.Bool
	faultGen atomic.Int64
	fault    faultstore.Fault // driver only

	// driver only
	stage      Stage
	percent    float64
	backfilled bool // every session is in Redis (since the fleet last left local)

	logMu sync.Mutex
	log   []string
}

func runFleet(t *testing.T, client redis.UniversalClient, flushAll func(context.Context) error) {
	seed := *fleetSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("fleet model seed %d (replay the driver with -fleet.seed=%d)", seed, seed)
	f := &fleet{
		t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, 0xf1ee7)), client: client,
		prefix: fmt.Sprintf("fleet%d:", prefixSeq.Add(1)), flushAll: flushAll, hist: newHistory(),
		stage: Local,
	}
	for i := range fleetInstances {
		inst := &fleetInstance{idx: i}
		f.start(inst)
		f.insts = append(f.insts, inst)
	}
	t.Cleanup(func() {
		for _, inst := range f.insts {
			inst.m.Close()
			inst.local.Close()
		}
	})
	for i := range fleetUsers {
		u := &fleetUser{id: i, f: f, rng: rand.New(rand.NewPCG(seed, uint64(i)+1))}
		u.inst.Store(int32(i % fleetInstances))
		f.users = append(f.users, u)
	}

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, u := range f.users {
		wg.Add(1)
		go func() { defer wg.Done(); u.run(ctx) }()
	}
	for w := range fleetWriters {
		wg.Add(1)
		go func() { defer wg.Done(); f.sharedWriter(ctx, w, rand.New(rand.NewPCG(seed, 1000+uint64(w)))) }()
	}
	deadline := time.Now().Add(*fleetDuration)
	for time.Now().Before(deadline) && f.stats.violations() == 0 {
		time.Sleep(time.Duration(5+f.rng.IntN(25)) * time.Millisecond)
		f.act()
	}
	stop()
	wg.Wait()
	f.converge()
	t.Logf("fleet model: %s", &f.stats)

	res, n, bad := f.hist.check(2 * time.Minute)
	t.Logf("porcupine: %d operations, linearizable per session: %s", n, res)
	if res == porcupine.Illegal {
		f.fail("porcupine: a session's history is not linearizable: %s", bad)
	}
	if res == porcupine.Unknown {
		f.fail("porcupine: the linearizability check did not finish in time; sessions it cannot check alone:%s", bad)
	}
	if f.stats.violations() != 0 {
		f.fail("fleet model found violations: %s", &f.stats)
	}
}

func (f *fleet) logf(format string, args ...any) {
	f.logMu.Lock()
	defer f.logMu.Unlock()
	f.log = append(f.log, fmt.Sprintf(format, args...))
	if len(f.log) > fleetLogKeep {
		f.log = f.log[len(f.log)-fleetLogKeep/2:]
	}
}

// fleetLogKeep bounds the log kept for a failure report (a run logs about
// 30,000 lines); fleetLogPrint bounds what a failure prints.
const fleetLogKeep, fleetLogPrint = 200_000, 5_000

// fail prints the log once (see failureLog), then fails the test.
func (f *fleet) fail(format string, args ...any) {
	f.t.Helper()
	msg := fmt.Sprintf(format, args...)
	f.logMu.Lock()
	for _, l := range failureLog(f.log, msg) {
		f.t.Log(l)
	}
	f.log = nil // printed once
	f.logMu.Unlock()
	f.t.Errorf("seed %d: %s", f.seed, msg)
}

var (
	violationLine = regexp.MustCompile(`^(user \d+): (LOGOUT|RESURRECTION|STALE|ANOMALY|LOST WRITE|.* failed)`)
	clientInMsg   = regexp.MustCompile(`client (\d+) `)
)

// failureLog picks what a failure prints: a short log whole; else every
// driver event (stage changes, faults, restarts, flushes) and every line
// of the users a violation names (in the log, or as a porcupine client in
// msg), so that what led to it is there however long ago it began; the
// last fleetLogPrint of those.
func failureLog(log []string, msg string) []string {
	if len(log) <= fleetLogPrint {
		return log
	}
	users := map[string]bool{}
	for _, l := range log {
		if m := violationLine.FindStringSubmatch(l); m != nil {
			users[m[1]+":"] = true
		}
	}
	for _, m := range clientInMsg.FindAllStringSubmatch(msg, -1) {
		users["user "+m[1]+":"] = true
	}
	var out []string
	for _, l := range log {
		if !strings.HasPrefix(l, "user ") || users[l[:strings.IndexByte(l, ':')+1]] {
			out = append(out, l)
		}
	}
	if len(out) > fleetLogPrint {
		out = out[len(out)-fleetLogPrint:]
	}
	return out
}

// start gives inst a fresh process: a new local store, a new clock skew, a
// Migrator at the fleet's current stage (a restarted instance adopts the
// stage the flags say, whatever it is).
func (f *fleet) start(inst *fleetInstance) {
	inst.skew = time.Duration(f.rng.Int64N(int64(2*fleetMaxSkew))) - fleetMaxSkew
	skew := inst.skew
	clock := func() time.Time { return time.Now().Add(skew) }
	inst.local = memstore.New(memstore.WithClock(clock))
	inst.fault = faultstore.New(redisstore.New(f.client, redisstore.Options{Prefix: f.prefix}), faultstore.WithSeed(f.seed+uint64(inst.idx)))
	if err := inst.fault.SetFault(f.fault); err != nil {
		f.t.Fatal(err)
	}
	percent := f.percent
	if f.stage == Complete {
		percent = 100
	}
	m, err := New(inst.local, inst.fault, Options{
		Stage: f.stage, Percent: percent, Now: clock,
		QueueSize: 64, AsyncWorkers: 2, RepairInterval: 5 * time.Millisecond,
		ShadowSample: 1, DistTimeout: 100 * time.Millisecond, CompareDelay: 250 * time.Millisecond,
		CloseTimeout: 5 * time.Second, Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		f.t.Fatal(err)
	}
	inst.m = m
}

// errorAllowed reports whether an operation that began at gen (with faulty
// then) may have failed: a fault was injected at some point of it.
func (f *fleet) errorAllowed(gen int64, faultyAtStart bool) bool {
	return faultyAtStart || f.faulty.Load() || f.faultGen.Load() != gen
}

// instance picks where a user's request goes: its pinned instance, or any
// in round robin.
func (f *fleet) instance(u *fleetUser) *fleetInstance {
	if f.roundRobin.Load() {
		return f.insts[u.rng.IntN(len(f.insts))]
	}
	return f.insts[u.inst.Load()]
}

func sharedKey(k int) string { return fmt.Sprintf("shared-%d", k) }

// sharedWriter writes the shared sessions from any instance, at complete
// only (before, a session has one writer: its sticky user).
func (f *fleet) sharedWriter(ctx context.Context, w int, rng *rand.Rand) {
	for n := 0; ctx.Err() == nil; n++ {
		f.gate.RLock()
		if !f.roundRobin.Load() {
			f.gate.RUnlock()
			time.Sleep(5 * time.Millisecond)
			continue
		}
		inst := f.insts[rng.IntN(len(f.insts))]
		inst.mu.RLock()
		key := sharedKey(rng.IntN(fleetShared))
		in := kvInput{key: key}
		var out kvOutput
		gen, faulty := f.faultGen.Load(), f.faulty.Load()
		call := f.hist.now()
		var err error
		switch x := rng.IntN(10); {
		case x < 4:
			in.op = 'g'
			var rec store.Record
			rec, out.found, err = inst.m.Get(ctx, key)
			out.value = string(rec.Data)
		case x < 9:
			in.op, in.value = 's', fmt.Sprintf("w%d-%d", w, n)
			err = inst.m.Set(ctx, key, store.Record{Data: []byte(in.value), ExpiresAt: time.Now().Add(time.Hour)})
		default:
			in.op = 'd'
			err = inst.m.Delete(ctx, key)
		}
		inst.mu.RUnlock()
		f.gate.RUnlock()
		f.stats.ops.Add(1)
		switch {
		case err == nil:
			f.hist.add(fleetUsers+w, in, out, call)
		case !f.errorAllowed(gen, faulty) && ctx.Err() == nil:
			f.stats.failed.Add(1)
			f.logf("shared writer %d: %c failed with no fault injected: %v", w, in.op, err)
		default:
			f.stats.allowedErrors.Add(1)
			if in.op != 'g' {
				f.hist.add(fleetUsers+w, in, failedWrite(err), call)
			}
		}
		time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
	}
}

// TestFailureLog: a long log prints the driver's events and the lines of
// the users a violation (or porcupine's report) names, and nobody else's.
func TestFailureLog(t *testing.T) {
	log := []string{"stage shadow 0", "user 4: set a=1 ok=true", "user 12: set b=1 ok=true", "user 1: set c=1 ok=true"}
	for range fleetLogPrint {
		log = append(log, "user 2: get")
	}
	log = append(log, "user 4: RESURRECTION: probe", "restart instance 1", "user 3: set d ok=true")
	got := failureLog(log, "porcupine: session x:\n  client 1 [1s, 2s] get -> absent")
	want := []string{"stage shadow 0", "user 4: set a=1 ok=true", "user 1: set c=1 ok=true", "user 4: RESURRECTION: probe", "restart instance 1"}
	if !slices.Equal(got, want) {
		t.Fatalf("failureLog:\n got %q\nwant %q", got, want)
	}
	if short := log[:3]; !slices.Equal(failureLog(short, ""), short) {
		t.Fatal("a short log is not printed whole")
	}
}
