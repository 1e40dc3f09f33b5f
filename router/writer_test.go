package router

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
)

// blockFirst returns a hook that blocks the first distributed call of op
// until release is closed (or its ctx ends), and closes entered when that
// call arrives.
func blockFirst(op faultstore.Op) (hook func(context.Context, faultstore.Op, string), entered, release chan struct{}) {
	entered, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	hook = func(ctx context.Context, o faultstore.Op, _ string) {
		if o != op {
			return
		}
		first := false
		once.Do(func() { first = true })
		if !first {
			return
		}
		close(entered)
		select {
		case <-release:
		case <-ctx.Done():
		}
	}
	return hook, entered, release
}

// TestWriterCoalesces: writes to one session made while the worker is busy
// with it collapse into one distributed write of the latest local record.
func TestWriterCoalesces(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Workers = 1 })
	hook, entered, release := blockFirst(faultstore.OpSet)
	f.setHook(hook)
	r := Shadow(f.core)

	set(t, r, "a", rec("v0"))
	await(t, entered, "the worker's distributed Set") // it holds v0
	for i := 1; i <= 9; i++ {
		set(t, r, "a", rec(fmt.Sprintf("v%d", i)))
	}
	close(release)
	f.flush()

	if got := f.dist.Stats(faultstore.OpSet).Calls; got > 3 {
		t.Errorf("distributed Sets: got %d for 10 writes, want at most 3 (coalesced)", got)
	}
	l, _ := get(t, f.local, "a")
	wantRecord(t, f.inner, "distributed", "a", "v9", l.Version)
	if got := f.core.Unsynced(); got != 0 {
		t.Errorf("Unsynced: got %d, want 0", got)
	}
}

// TestWriterFullQueueDrops: a write that finds the queue full is counted as
// dropped, stays tracked, and the repair loop applies it without Flush.
func TestWriterFullQueueDrops(t *testing.T) { synctest.Test(t, testWriterFullQueueDrops) }

func testWriterFullQueueDrops(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Workers = 1
		c.QueueSize = 1
		c.RepairInterval = 5 * time.Millisecond
	})
	hook, entered, release := blockFirst(faultstore.OpSet)
	f.setHook(hook)
	r := Shadow(f.core)

	set(t, r, "a", rec("a")) // taken by the worker, which blocks
	await(t, entered, "the worker's distributed Set")
	set(t, r, "b", rec("b")) // fills the one queue slot
	if got := f.core.QueueDepth(); got != 1 {
		t.Fatalf("QueueDepth: got %d, want 1", got)
	}
	set(t, r, "c", rec("c")) // dropped
	if got := f.obs.count(func(o *recObserver) int { return o.dropped }); got != 1 {
		t.Fatalf("AsyncDropped: got %d, want 1", got)
	}
	if !f.core.IsUnsynced("c") {
		t.Fatal("dropped session is not tracked, want tracked for repair")
	}
	close(release)
	time.Sleep(5 * time.Millisecond) // one RepairInterval
	synctest.Wait()
	if got := f.core.Unsynced(); got != 0 {
		t.Fatalf("Unsynced one repair interval after the release: got %d, want 0", got)
	}
	l, _ := get(t, f.local, "c")
	wantRecord(t, f.inner, "distributed", "c", "c", l.Version)
}

func TestNextRepairInterval(t *testing.T) {
	const base = 10 * time.Millisecond
	tests := []struct {
		name   string
		cur    time.Duration
		base   time.Duration
		failed bool
		want   time.Duration
	}{
		{"success resets", 80 * time.Millisecond, base, false, base},
		{"failure doubles", base, base, true, 2 * base},
		{"failure doubles again", 4 * base, base, true, 8 * base},
		{"capped", 20 * time.Second, base, true, maxRepairInterval},
		{"stays capped", maxRepairInterval, base, true, maxRepairInterval},
		{"base above the cap is never shortened", time.Minute, time.Minute, true, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nextRepairInterval(tt.cur, tt.base, tt.failed); got != tt.want {
				t.Fatalf("nextRepairInterval(%v, %v, %v): got %v, want %v", tt.cur, tt.base, tt.failed, got, tt.want)
			}
		})
	}
}

// TestRepairBacksOff: during an outage the repair loop retries ever more
// rarely instead of every RepairInterval, and a repair lands once the store
// is back.
func TestRepairBacksOff(t *testing.T) { synctest.Test(t, testRepairBacksOff) }

func testRepairBacksOff(t *testing.T) {
	const interval = 5 * time.Millisecond
	f := newFixture(t, func(c *Config) { c.RepairInterval = interval })
	if err := f.dist.SetFault(faultstore.Fault{Outage: true}, faultstore.OpSet); err != nil {
		t.Fatal(err)
	}
	r := Dual(f.core)
	set(t, r, "a", rec("a")) // fails, tracked for the repair loop

	const window = 400 * time.Millisecond
	time.Sleep(window) // the bubble's clock: exactly 400 ms of outage
	synctest.Wait()
	calls := f.dist.Stats(faultstore.OpSet).Calls
	// Without backoff: one retry per interval (80 in the window). With
	// doubling from 5 ms: retries at 5, 15, 35, 75, 155 and 315 ms, plus
	// the failed synchronous write.
	if calls != 7 {
		t.Fatalf("distributed Sets over %v of outage: got %d, want 7 (backoff; no backoff would be %d)", window, calls, window/interval+1)
	}

	f.dist.Reset()
	time.Sleep(635*time.Millisecond - window) // the next retry, 320 ms after the last
	synctest.Wait()
	if got := f.core.Unsynced(); got != 0 {
		t.Fatalf("Unsynced after the first retry past the outage: got %d, want 0", got)
	}
	l, _ := get(t, f.local, "a")
	wantRecord(t, f.inner, "distributed", "a", "a", l.Version)
}

// TestCloseDrains: Close applies what is queued and reports nothing left.
func TestCloseDrains(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.dist.SetFault(faultstore.Fault{Latency: 2 * time.Millisecond}, faultstore.OpSet); err != nil {
		t.Fatal(err)
	}
	r := Shadow(f.core)
	for i := range 20 {
		set(t, r, fmt.Sprintf("s%d", i), rec("x"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	unsynced, err := f.core.Close(ctx)
	if err != nil || unsynced != 0 {
		t.Fatalf("Close: got unsynced %d, err %v; want 0, nil", unsynced, err)
	}
	for i := range 20 {
		if _, found := get(t, f.inner, fmt.Sprintf("s%d", i)); !found {
			t.Fatalf("session %d not in the distributed store after Close", i)
		}
	}
}

// TestCloseBoundedByCtx: with the distributed store hanging, Close returns
// when its ctx ends (not after AsyncTimeout), with the ctx error and the
// sessions left unsynced.
func TestCloseBoundedByCtx(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.AsyncTimeout = time.Minute })
	f.closeErrOK = true
	if err := f.dist.SetFault(faultstore.Fault{Hang: true}, faultstore.OpSet); err != nil {
		t.Fatal(err)
	}
	r := Shadow(f.core)
	for i := range 3 {
		set(t, r, fmt.Sprintf("s%d", i), rec("x"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	unsynced, err := f.core.Close(ctx)
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("Close took %v with a 50ms ctx, want it bounded by ctx", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close: got err %v, want context.DeadlineExceeded", err)
	}
	if unsynced != 3 {
		t.Fatalf("Close: got unsynced %d, want 3", unsynced)
	}
}

// TestFlushWaits: Flush returns only once the distributed store holds the
// queued writes, and gives up when its ctx ends.
func TestFlushWaits(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.dist.SetFault(faultstore.Fault{Latency: 20 * time.Millisecond}, faultstore.OpSet); err != nil {
		t.Fatal(err)
	}
	r := Shadow(f.core)
	set(t, r, "a", rec("a"))
	f.flush()
	l, _ := get(t, f.local, "a")
	wantRecord(t, f.inner, "distributed after Flush", "a", "a", l.Version)

	if err := f.dist.SetFault(faultstore.Fault{Hang: true}, faultstore.OpSet); err != nil {
		t.Fatal(err)
	}
	set(t, r, "b", rec("b"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := f.core.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush with a hanging store: got %v, want context.DeadlineExceeded", err)
	}
	f.dist.Reset()
	f.flush()
	l, _ = get(t, f.local, "b")
	wantRecord(t, f.inner, "distributed after the hang", "b", "b", l.Version)
}

// TestAsyncAppliedCounted: the writer reports every distributed write it
// makes, failed or not.
func TestAsyncAppliedCounted(t *testing.T) { synctest.Test(t, testAsyncAppliedCounted) }

func testAsyncAppliedCounted(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.dist.FailNext(1, faultstore.OpSet); err != nil {
		t.Fatal(err)
	}
	r := Shadow(f.core)
	set(t, r, "a", rec("a"))
	synctest.Wait() // the worker has made the failed async write
	if got := f.obs.count(func(o *recObserver) int { return o.applyErrors }); got != 1 {
		t.Fatalf("failed async writes: got %d, want 1", got)
	}
	f.flush() // the repair round retries it
	if got := f.obs.count(func(o *recObserver) int { return o.applied }); got != 2 {
		t.Fatalf("AsyncApplied calls: got %d, want 2 (one failure, one success)", got)
	}
	if got := f.core.Unsynced(); got != 0 {
		t.Fatalf("Unsynced: got %d, want 0", got)
	}
}

// TestMarkUnsynced: a session marked unsynced from outside (a confirmed
// inconsistency) is served from local by routed reads and its distributed
// copy is repaired from local.
func TestMarkUnsynced(t *testing.T) {
	f := newFixture(t, nil)
	r := newRamp(t, f)
	id := sessionID(t, rampCut, true, 0)
	set(t, r, id, rec("new"))
	l, _ := get(t, f.local, id)
	putDist(t, f, id, "corrupt", l.Version) // same version, other bytes

	if err := f.dist.SetFault(faultstore.Fault{Outage: true}, faultstore.OpSet); err != nil {
		t.Fatal(err)
	}
	f.core.MarkUnsynced(id)
	if !f.core.IsUnsynced(id) {
		t.Fatal("IsUnsynced after MarkUnsynced: got false, want true")
	}
	wantRecord(t, r, "Get", id, "new", l.Version)
	wantFallbacks(t, f, map[Reason]int{ReasonDirty: 1})

	f.dist.Reset()
	f.flush()
	wantRecord(t, f.inner, "distributed store", id, "new", l.Version)
	if got := f.core.Unsynced(); got != 0 {
		t.Fatalf("Unsynced: got %d, want 0", got)
	}
}

// TestWriterLocalExpired: when the session expired locally before its
// async write was applied, the writer removes the older distributed copy
// (with a tombstone) instead of leaving it to outlive the session.
func TestWriterLocalExpired(t *testing.T) { synctest.Test(t, testWriterLocalExpired) }

func testWriterLocalExpired(t *testing.T) {
	f := newFixture(t, nil)
	set(t, Dual(f.core), "a", rec("old")) // expires in an hour, in both stores
	old, _ := get(t, f.inner, "a")
	if err := f.dist.SetFault(faultstore.Fault{Outage: true}, faultstore.OpSet); err != nil {
		t.Fatal(err)
	}
	set(t, Shadow(f.core), "a", store.Record{Data: []byte("short"), ExpiresAt: epoch.Add(time.Minute)})
	synctest.Wait() // the worker has made the failed async write
	if got := f.obs.count(func(o *recObserver) int { return o.applyErrors }); got != 1 {
		t.Fatalf("failed async writes: got %d, want 1", got)
	}
	f.clock.Advance(2 * time.Minute) // the new record expired locally
	f.dist.Reset()
	f.flush()
	wantMissing(t, f.inner, "distributed store", "a")
	wantTombstone(t, f.inner, "distributed store", "a", old.Version)
	if got := f.core.Unsynced(); got != 0 {
		t.Fatalf("Unsynced: got %d, want 0", got)
	}
}

// TestRepairWakesWhenStoreHeals: after an outage has backed the repair loop
// off to a long interval, the first write that gets through again starts a
// repair round at once instead of after the backed-off wait.
func TestRepairWakesWhenStoreHeals(t *testing.T) { synctest.Test(t, testRepairWakesWhenStoreHeals) }

func testRepairWakesWhenStoreHeals(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.RepairInterval = 50 * time.Millisecond })
	if err := f.dist.SetFault(faultstore.Fault{Outage: true}, faultstore.OpSet); err != nil {
		t.Fatal(err)
	}
	r := Dual(f.core)
	set(t, r, "a", rec("a")) // fails: tracked
	// Let the loop back off: rounds at 50, 150, 350 and 750 ms, the next
	// one 800 ms later.
	time.Sleep(800 * time.Millisecond)
	synctest.Wait()
	if !f.core.writer.backingOff.Load() || f.dist.Stats(faultstore.OpSet).Calls != 5 {
		t.Fatalf("after 800 ms of outage: backing off %v, %d Sets; want true, 5", f.core.writer.backingOff.Load(), f.dist.Stats(faultstore.OpSet).Calls)
	}
	f.dist.Reset()
	start := time.Now()
	set(t, r, "b", rec("b")) // gets through: wakes the repair loop
	synctest.Wait()
	if got := f.core.Unsynced(); got != 0 {
		t.Fatalf("Unsynced after the heal: got %d, want 0", got)
	}
	if el := time.Since(start); el != 0 {
		t.Fatalf("repair after heal took %v of the bubble's clock, want 0: the loop was not woken", el)
	}
}

// TestFlushAfterClose: Flush on a closed Core returns at once instead of
// waiting for workers that no longer run.
func TestFlushAfterClose(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Workers = 1 })
	f.closeErrOK = true
	if err := f.dist.SetFault(faultstore.Fault{Hang: true}, faultstore.OpSet); err != nil {
		t.Fatal(err)
	}
	// One worker hangs on the first id; the others wait in its queue and
	// are still there when Close gives up.
	for _, id := range []string{"a", "b", "c"} {
		set(t, Shadow(f.core), id, rec(id))
	}
	cctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if unsynced, _ := f.core.Close(cctx); unsynced != 3 {
		t.Fatalf("Close: got %d unsynced, want 3", unsynced)
	}
	fctx, fcancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer fcancel()
	if err := f.core.Flush(fctx); err != nil {
		t.Fatalf("Flush after Close: %v, want nil at once", err)
	}
	f.dist.Reset()
}

// TestCloseRepairsTracked: Close also repairs sessions whose distributed
// write failed (tracked, not queued), so a graceful restart with the store
// back loses nothing; it reports those it could not repair.
func TestCloseRepairsTracked(t *testing.T) {
	f := newFixture(t, nil) // RepairInterval is an hour: only Close repairs
	f.closeErrOK = true
	if err := f.dist.SetFault(faultstore.Fault{Outage: true}, faultstore.OpSet); err != nil {
		t.Fatal(err)
	}
	set(t, Dual(f.core), "a", rec("a"))
	set(t, Dual(f.core), "b", rec("b"))
	f.dist.Reset()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if n, err := f.core.Close(ctx); n != 0 || err != nil {
		t.Fatalf("Close with the store back: got %d unsynced, %v; want 0, nil", n, err)
	}
	for _, id := range []string{"a", "b"} {
		l, _ := get(t, f.local, id)
		wantRecord(t, f.inner, "distributed store after Close", id, id, l.Version)
	}

	g := newFixture(t, nil)
	g.closeErrOK = true
	if err := g.dist.SetFault(faultstore.Fault{Outage: true}, faultstore.OpSet); err != nil {
		t.Fatal(err)
	}
	set(t, Dual(g.core), "a", rec("a"))
	if n, err := g.core.Close(ctx); n != 1 || err == nil {
		t.Fatalf("Close with the store down: got %d unsynced, %v; want 1 and an error", n, err)
	}
}
