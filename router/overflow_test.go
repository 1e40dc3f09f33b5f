package router

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
)

// TestUnsyncedBound: with the distributed store down at dual, the unsynced
// set stops at MaxUnsynced; further writes are still acknowledged from
// local, counted as overflow, and Overflowed reports it until the store is
// back and a reconciliation pass has copied every local session.
func TestUnsyncedBound(t *testing.T) { synctest.Test(t, testUnsyncedBound) }

func testUnsyncedBound(t *testing.T) {
	const bound, writes = 4, 10
	f := newFixture(t, func(c *Config) { c.MaxUnsynced = bound; c.RepairInterval = 10 * time.Millisecond })
	if err := f.dist.SetFault(faultstore.Fault{Outage: true}, faultstore.OpSet); err != nil {
		t.Fatal(err)
	}
	r := Dual(f.core)
	for i := range writes {
		set(t, r, fmt.Sprintf("s%d", i), rec(fmt.Sprintf("d%d", i)))
	}
	if got := f.core.Unsynced(); got != bound {
		t.Fatalf("Unsynced: got %d, want the bound %d", got, bound)
	}
	if got := f.obs.count(func(o *recObserver) int { return o.overflows }); got != writes-bound {
		t.Fatalf("Overflow: got %d, want %d", got, writes-bound)
	}
	if !f.core.Overflowed() {
		t.Fatal("Overflowed: got false, want true")
	}
	for i := range writes { // local has every write
		wantRecord(t, r, "Get during the outage", fmt.Sprintf("s%d", i), fmt.Sprintf("d%d", i), localVersion(t, f, i))
	}

	f.dist.Reset()
	time.Sleep(time.Second) // past any backoff
	synctest.Wait()
	if f.core.Overflowed() || f.core.Unsynced() != 0 {
		t.Fatalf("after healing: Overflowed %v, Unsynced %d; want false, 0", f.core.Overflowed(), f.core.Unsynced())
	}
	for i := range writes {
		wantRecord(t, f.inner, "distributed store after reconciliation", fmt.Sprintf("s%d", i), fmt.Sprintf("d%d", i), localVersion(t, f, i))
	}
}

func localVersion(t *testing.T, f *fixture, i int) uint64 {
	t.Helper()
	l, found := get(t, f.local, fmt.Sprintf("s%d", i))
	if !found {
		t.Fatalf("local store lost s%d", i)
	}
	return l.Version
}

// TestFullUnsyncedSetDeletesSynchronously: a delete that cannot be tracked
// is applied to the distributed store on the request path; if that fails
// too, Delete fails (ErrDeleteNotPropagated) instead of acknowledging a
// logout the fleet would not see.
func TestFullUnsyncedSetDeletesSynchronously(t *testing.T) {
	for _, stage := range []string{"local", "shadow", "dual"} {
		t.Run(stage, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.MaxUnsynced = 1 })
			r := stages(t, f)[stage]
			set(t, Dual(f.core), "victim", rec("v"))
			set(t, Dual(f.core), "other", rec("o"))
			f.core.markSet("filler", 1, false) // the set is full
			del(t, r, "victim")
			wantMissing(t, f.inner, "distributed store after a delete with a full unsynced set", "victim")

			if err := f.dist.SetFault(faultstore.Fault{Outage: true}, faultstore.OpDeleteVersion); err != nil {
				t.Fatal(err)
			}
			err := r.Delete(context.Background(), "other")
			if !errors.Is(err, ErrDeleteNotPropagated) {
				t.Fatalf("Delete with a full unsynced set and the store down: got %v, want ErrDeleteNotPropagated", err)
			}
			wantMissing(t, r, "Get on this instance after the failed propagation", "other")
		})
	}
}

// TestRepairDrainsInGrowingBatches: a backlog drains in one round, in batch
// writes that double while they succeed, not one session per interval.
func TestRepairDrainsInGrowingBatches(t *testing.T) { synctest.Test(t, testRepairDrains) }

func testRepairDrains(t *testing.T) {
	const backlog = 7000
	counter := &batchCounter{}
	f := newFixture(t, func(c *Config) {
		c.RepairBatch = 100
		c.RepairInterval = 10 * time.Millisecond
		c.MaxUnsynced = 2 * backlog
	})
	counter.Store = f.dist
	f.core.writer.setMany = counter.SetMany
	if err := f.dist.SetFault(faultstore.Fault{Outage: true}, faultstore.OpSet); err != nil {
		t.Fatal(err)
	}
	r := Dual(f.core)
	for i := range backlog {
		set(t, r, fmt.Sprintf("s%d", i), rec("x"))
	}
	f.dist.Reset()
	counter.reset()
	time.Sleep(time.Second) // the backed-off loop's next round
	synctest.Wait()
	if got := f.core.Unsynced(); got != 0 {
		t.Fatalf("Unsynced after one round: got %d, want 0", got)
	}
	// 100+200+400+800+1600+1600+1600+700: doubling up to 16x RepairBatch.
	want := []int{100, 200, 400, 800, 1600, 1600, 1600, 700}
	if got := counter.sizes(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("batch sizes: got %v, want %v", got, want)
	}
}

// batchCounter records the size of every batch write.
type batchCounter struct {
	store.Store
	mu    sync.Mutex
	batch []int
}

func (b *batchCounter) SetMany(ctx context.Context, entries []store.Entry) ([]bool, error) {
	b.mu.Lock()
	b.batch = append(b.batch, len(entries))
	b.mu.Unlock()
	return SetManyFunc(b.Store)(ctx, entries)
}

func (b *batchCounter) reset() {
	b.mu.Lock()
	b.batch = nil
	b.mu.Unlock()
}

func (b *batchCounter) sizes() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int(nil), b.batch...)
}

// TestTrackerMemoryPerSession measures what a tracked session costs, the
// figure Config.MaxUnsynced documents.
func TestTrackerMemoryPerSession(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 200k sessions")
	}
	const n = 200_000
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%043d", i) // the length of an scs token
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tr := newTracker(n)
	for _, id := range ids {
		tr.Mark(id, opSet, 1, time.Time{}, false)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("tracker: %.0f bytes per tracked session (map slot and entry; the id itself is shared with the caller)", per)
	// The ids are allocated above, outside the measured window; a tracked
	// id the caller no longer holds adds its bytes (48 for 43 characters).
	if per > 100 {
		t.Fatalf("tracker costs %.0f bytes per session, want at most 100 (before the ids)", per)
	}
	runtime.KeepAlive(tr)
	runtime.KeepAlive(ids)
}

// TestRepairGivesEachCallItsOwnDeadline: a repair round of many deletes on
// a slow store. Each call has AsyncTimeout to itself; with one deadline for
// the whole batch, the deletes after it ran out would fail at once (and
// the guard would count those as the store's timeouts).
func TestRepairGivesEachCallItsOwnDeadline(t *testing.T) {
	synctest.Test(t, testRepairOwnDeadline)
}

func testRepairOwnDeadline(t *testing.T) {
	const n = 50
	f := newFixture(t, func(c *Config) {
		c.AsyncTimeout = 100 * time.Millisecond
		c.RepairInterval = 10 * time.Millisecond
	})
	r := Dual(f.core)
	for i := range n {
		set(t, r, fmt.Sprintf("s%d", i), rec("x"))
	}
	if err := f.dist.SetFault(faultstore.Fault{Outage: true}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		del(t, r, fmt.Sprintf("s%d", i))
	}
	if got := f.core.Unsynced(); got != n {
		t.Fatalf("failed deletes tracked: got %d, want %d", got, n)
	}
	// Each delete now takes 10ms: the round's 50 take 500ms, five times
	// AsyncTimeout, and each one alone a tenth of it.
	if err := f.dist.SetFault(faultstore.Fault{Latency: 10 * time.Millisecond}, faultstore.OpDeleteVersion); err != nil {
		t.Fatal(err)
	}
	f.obs.mu.Lock()
	errorsBefore := f.obs.applyErrors
	f.obs.mu.Unlock()
	time.Sleep(time.Second) // the backed-off loop's next round
	synctest.Wait()
	time.Sleep(n * 10 * time.Millisecond)
	synctest.Wait()
	if got := f.core.Unsynced(); got != 0 {
		t.Fatalf("Unsynced after the slow deletes: got %d, want 0", got)
	}
	f.obs.mu.Lock()
	defer f.obs.mu.Unlock()
	if got := f.obs.applyErrors - errorsBefore; got != 0 {
		t.Fatalf("%d repairs failed on a store that answers every call within its timeout", got)
	}
}
