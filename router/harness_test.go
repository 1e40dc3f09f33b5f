package router

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/internal/clocktest"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
)

// testSalt is the routing salt of every fixture.
const testSalt = "test-salt"

// epoch is the fake clock's start: millisecond-aligned so that expiries
// survive the stores' millisecond truncation unchanged.
var epoch = time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)

// recObserver counts Observer calls.
type recObserver struct {
	mu           sync.Mutex
	fallbacks    map[Reason]int
	lazyCopies   int
	lazyErrors   int
	dropped      int
	applied      int
	applyErrors  int
	distFailures int
	readThrough  map[ReadThroughResult]int
	overflows    int
}

func newRecObserver() *recObserver {
	return &recObserver{fallbacks: map[Reason]int{}, readThrough: map[ReadThroughResult]int{}}
}

func (o *recObserver) ReadThrough(r ReadThroughResult) {
	o.mu.Lock()
	o.readThrough[r]++
	o.mu.Unlock()
}

func (o *recObserver) Overflow() {
	o.mu.Lock()
	o.overflows++
	o.mu.Unlock()
}

func (o *recObserver) Fallback(r Reason) {
	o.mu.Lock()
	o.fallbacks[r]++
	o.mu.Unlock()
}

func (o *recObserver) LazyCopy(err error) {
	o.mu.Lock()
	o.lazyCopies++
	if err != nil {
		o.lazyErrors++
	}
	o.mu.Unlock()
}

func (o *recObserver) AsyncDropped() {
	o.mu.Lock()
	o.dropped++
	o.mu.Unlock()
}

func (o *recObserver) AsyncApplied(err error) {
	o.mu.Lock()
	o.applied++
	if err != nil {
		o.applyErrors++
	}
	o.mu.Unlock()
}

func (o *recObserver) DistWriteFailed() {
	o.mu.Lock()
	o.distFailures++
	o.mu.Unlock()
}

// fallbackCounts returns a copy of the Fallback counters.
func (o *recObserver) fallbackCounts() map[Reason]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := make(map[Reason]int, len(o.fallbacks))
	for k, v := range o.fallbacks {
		m[k] = v
	}
	return m
}

func (o *recObserver) count(f func(o *recObserver) int) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return f(o)
}

// recComparer records Offer calls.
type recComparer struct {
	mu     sync.Mutex
	offers []string
}

func (c *recComparer) Offer(id string, _ store.Record, _ bool) {
	c.mu.Lock()
	c.offers = append(c.offers, id)
	c.mu.Unlock()
}

func (c *recComparer) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.offers)
}

// fixture is a Core over a local memstore and a distributed memstore behind
// a faultstore, sharing one fake clock.
type fixture struct {
	t     *testing.T
	core  *Core
	local *memstore.Store
	inner *memstore.Store // the distributed store without faults
	dist  *faultstore.Store
	clock *clocktest.Clock // shared by the Core and both stores
	obs   *recObserver
	hook  atomic.Pointer[func(ctx context.Context, op faultstore.Op, id string)]
	// closeErrOK: the test closes the Core itself and checks the error.
	closeErrOK bool
}

// newFixture builds a fixture; edit adjusts the Config before NewCore. The
// Core and the stores are closed by t.Cleanup.
func newFixture(t *testing.T, edit func(*Config)) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: clocktest.New(epoch), obs: newRecObserver()}
	f.local = memstore.New(memstore.WithClock(f.clock.Now), memstore.WithSweepInterval(0))
	f.inner = memstore.New(memstore.WithClock(f.clock.Now), memstore.WithSweepInterval(0))
	f.dist = faultstore.New(f.inner, faultstore.WithSeed(1),
		faultstore.WithOnCall(func(ctx context.Context, op faultstore.Op, id string) {
			if h := f.hook.Load(); h != nil {
				(*h)(ctx, op, id)
			}
		}))
	cfg := Config{
		Local:          f.local,
		Distributed:    f.dist,
		Salt:           testSalt,
		DistTimeout:    5 * time.Second,
		AsyncTimeout:   5 * time.Second,
		RepairInterval: time.Hour, // tests call Flush unless they test the loop
		Observer:       f.obs,
		Now:            f.clock.Now,
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := NewCore(cfg)
	if err != nil {
		t.Fatalf("NewCore: %v", err)
	}
	f.core = c
	t.Cleanup(func() {
		f.dist.Reset() // release any hang so Close can drain
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := c.Close(ctx); err != nil && !f.closeErrOK {
			t.Errorf("Core.Close: %v", err)
		}
		f.local.Close()
		f.inner.Close()
	})
	return f
}

// setHook installs fn as the distributed store's call hook (nil removes it).
func (f *fixture) setHook(fn func(ctx context.Context, op faultstore.Op, id string)) {
	if fn == nil {
		f.hook.Store(nil)
		return
	}
	f.hook.Store(&fn)
}

func (f *fixture) flush() {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.core.Flush(ctx); err != nil {
		f.t.Fatalf("Flush: %v", err)
	}
}

// opCtx bounds one store call of a test, so that a call that should not
// block fails the test instead of hanging it.
func opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

// get reads id from s and fails the test on an error.
func get(t *testing.T, s store.Store, id string) (store.Record, bool) {
	t.Helper()
	ctx, cancel := opCtx()
	defer cancel()
	rec, found, err := s.Get(ctx, id)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return rec, found
}

func set(t *testing.T, s store.Store, id string, rec store.Record) {
	t.Helper()
	ctx, cancel := opCtx()
	defer cancel()
	if err := s.Set(ctx, id, rec); err != nil {
		t.Fatalf("Set: %v", err)
	}
}

func del(t *testing.T, s store.Store, id string) {
	t.Helper()
	ctx, cancel := opCtx()
	defer cancel()
	if err := s.Delete(ctx, id); err != nil {
		t.Fatalf("Delete: %v", err)
	}
}

// wantRecord fails unless s holds id with data and version.
func wantRecord(t *testing.T, s store.Store, name, id, data string, version uint64) {
	t.Helper()
	rec, found := get(t, s, id)
	if !found {
		t.Fatalf("%s: session not found, want data %q version %d", name, data, version)
	}
	if string(rec.Data) != data || rec.Version != version {
		t.Fatalf("%s: got data %q version %d, want %q version %d", name, rec.Data, rec.Version, data, version)
	}
}

// wantMissing fails if s serves id.
func wantMissing(t *testing.T, s store.Store, name, id string) {
	t.Helper()
	if rec, found := get(t, s, id); found {
		t.Fatalf("%s: got data %q version %d, want not found", name, rec.Data, rec.Version)
	}
}

// wantTombstone fails unless s refuses a write of id at version (a
// tombstone at version or newer is stored). It leaves s unchanged when the
// tombstone is there.
func wantTombstone(t *testing.T, s store.Versioned, name, id string, version uint64) {
	t.Helper()
	set(t, s, id, store.Record{Data: []byte("late"), Version: version, ExpiresAt: epoch.Add(time.Hour)})
	if rec, found := get(t, s, id); found {
		t.Fatalf("%s: a write at version %d brought the session back (got %q): want a tombstone", name, version, rec.Data)
	}
}

// sessionID returns an id whose bucket under testSalt is below cut when
// routed is true, at or above it otherwise. n picks among such ids.
func sessionID(t *testing.T, cut uint32, routed bool, n int) string {
	t.Helper()
	for i := 0; i < 100000; i++ {
		id := fmt.Sprintf("sess-%d", i)
		if (Bucket(testSalt, id) < cut) == routed {
			if n == 0 {
				return id
			}
			n--
		}
	}
	t.Fatalf("no id with routed=%v at cut %d", routed, cut)
	return ""
}

// await waits until ch is closed, for at most 5 s.
func await(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// rec builds a record expiring an hour after epoch.
func rec(data string) store.Record {
	return store.Record{Data: []byte(data), ExpiresAt: epoch.Add(time.Hour)}
}
