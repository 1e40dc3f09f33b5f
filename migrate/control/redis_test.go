package control

// Tests against real redis-server processes: the compare-and-set race,
// pub/sub connection loss, server crash and restart, Redis Cluster, and the
// notice-to-event latency.

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/redis/go-redis/v9"
	"github.com/sessionmigrate/sessionmigrate/internal/redistest"
)

// TestRedisConcurrentUpdatesLoseNothing has writers race read-modify-write
// cycles through Update: every successful Update must count, so the final
// percent equals the number of successes times the step.
func TestRedisConcurrentUpdatesLoseNothing(t *testing.T) {
	srv := redistest.StartServer(t)
	c := newClient(t, srv.Client(t), Options{Clock: time.Now})
	ctx := context.Background()
	if _, err := c.Update(ctx, 0, State{Stage: StageRamp}); err != nil {
		t.Fatal(err)
	}
	const writers, each, step = 8, 25, 0.5 // 8*25*0.5 = 100%
	var conflicts atomic.Int64
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for done := 0; done < each; {
				cur, err := c.State(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				next := cur
				next.Percent += step
				if _, err := c.Update(ctx, cur.Epoch, next); errors.Is(err, ErrConflict) {
					conflicts.Add(1)
					continue
				} else if err != nil {
					t.Error(err)
					return
				}
				done++
			}
		})
	}
	wg.Wait()
	got, err := c.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.Percent != 100 || got.Epoch != 1+writers*each {
		t.Fatalf("got %s, want ramp 100%% at epoch %d: an update was lost", got, 1+writers*each)
	}
	if n := srv.Client(t).XLen(ctx, c.keys.audit).Val(); n != 1+writers*each {
		t.Fatalf("got %d audit entries, want %d", n, 1+writers*each)
	}
	t.Logf("%d writers x %d updates: %d conflicts detected and retried", writers, each, conflicts.Load())
}

// TestRedisApplyUnderContention runs the same race through Apply, which
// retries by itself.
func TestRedisApplyUnderContention(t *testing.T) {
	srv := redistest.StartServer(t)
	c := newClient(t, srv.Client(t), Options{ApplyRetries: 100})
	ctx := context.Background()
	const writers, each = 4, 25
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				_, err := c.Apply(ctx, func(cur State) (State, error) {
					cur.Stage, cur.Percent = StageRamp, cur.Percent+1
					return cur, nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got, _ := c.State(ctx); got.Percent != 100 || got.Epoch != writers*each {
		t.Fatalf("got %s, want ramp 100%% at epoch %d", got, writers*each)
	}
}

// TestRedisSameEpochExactlyOneWins starts pairs of writers at the same
// instant with the same expected epoch.
func TestRedisSameEpochExactlyOneWins(t *testing.T) {
	srv := redistest.StartServer(t)
	c := newClient(t, srv.Client(t), Options{})
	ctx := context.Background()
	for round := range uint64(30) {
		start := make(chan struct{})
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() {
				<-start
				_, errs[i] = c.Update(ctx, round, State{Stage: StageShadow, Actor: string(rune('a' + i))})
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, ErrConflict):
				t.Fatalf("round %d: got %v, want nil or ErrConflict", round, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d writers won, want exactly 1", round, won)
		}
	}
}

func TestRedisAuditIsBounded(t *testing.T) {
	srv := redistest.StartServer(t)
	rdb := srv.Client(t)
	c := newClient(t, rdb, Options{AuditMaxLen: 10})
	ctx := context.Background()
	const writes = 400
	for range writes {
		mustApply(t, c, to(StageShadow, 0))
	}
	if n := rdb.XLen(ctx, c.keys.audit).Val(); n >= writes || n < 10 {
		t.Fatalf("got %d audit entries after %d writes with MAXLEN ~10, want trimming to between 10 and %d", n, writes, writes)
	}
	h, err := c.History(ctx, 3)
	if err != nil || len(h) != 3 || h[0].Epoch != writes || h[2].Epoch != writes-2 {
		t.Fatalf("got %+v, %v, want the newest three, epochs %d..%d", h, err, writes, writes-2)
	}
}

func TestRedisHeartbeatExpires(t *testing.T) {
	srv := redistest.StartServer(t)
	rdb := srv.Client(t)
	c := newClient(t, rdb, Options{Clock: time.Now})
	ctx := context.Background()
	if err := c.PublishHeartbeat(ctx, Heartbeat{InstanceID: "short"}, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := c.PublishHeartbeat(ctx, Heartbeat{InstanceID: "long"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "short-lived instance gone", func() bool {
		hbs, err := c.Instances(ctx)
		return err == nil && len(hbs) == 1 && hbs[0].InstanceID == "long"
	})
	if n := rdb.ZCard(ctx, c.keys.instances).Val(); n != 1 {
		t.Fatalf("index: got %d members, want 1", n)
	}
}

// killPubSub closes every pub/sub connection of srv, as a proxy restart or a
// network blip would, and returns how many it closed.
func killPubSub(t *testing.T, admin *redis.Client) int64 {
	t.Helper()
	n, err := admin.ClientKillByFilter(context.Background(), "TYPE", "pubsub").Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRedisPollCoversPubSubLoss kills the provider's subscription and
// changes the state at once: the change must arrive within the poll
// interval, whatever happens to the notice.
func TestRedisPollCoversPubSubLoss(t *testing.T) {
	srv := redistest.StartServer(t)
	admin := srv.Client(t)
	poll := 200 * time.Millisecond
	c := newClient(t, srv.Client(t), Options{PollInterval: poll, Clock: time.Now})
	p := startProvider(t, c)
	waitSubscribers(t, admin, c.Channel(), 1)
	for round := range 3 {
		if n := killPubSub(t, admin); n != 1 {
			t.Fatalf("round %d: killed %d pubsub connections, want 1", round, n)
		}
		start := time.Now()
		s := mustApply(t, c, to(StageShadow, 0))
		e := nextEvent(t, p, openfeature.ProviderConfigChange, 2*poll)
		if got, _ := e.EventMetadata["epoch"].(int64); got != int64(s.Epoch) {
			t.Fatalf("round %d: got epoch %v, want %d", round, e.EventMetadata["epoch"], s.Epoch)
		}
		t.Logf("round %d: change seen %s after the kill (poll %s)", round, time.Since(start), poll)
		waitSubscribers(t, admin, c.Channel(), 1)
	}
}

// TestRedisPollWhenSubscriptionCannotReturn kills the subscription and
// denies the provider's user SUBSCRIBE, so the subscription cannot come back
// (as behind a proxy without pub/sub): only the poll can deliver changes.
func TestRedisPollWhenSubscriptionCannotReturn(t *testing.T) {
	srv := redistest.StartServer(t)
	admin := srv.Client(t)
	ctx := context.Background()
	if err := admin.Do(ctx, "ACL", "SETUSER", "app", "on", ">secret", "~*", "&*", "+@all").Err(); err != nil {
		t.Fatal(err)
	}
	opts := srv.Options()
	opts.Username, opts.Password = "app", "secret"
	app := redis.NewClient(opts)
	t.Cleanup(func() { app.Close() })

	poll := 100 * time.Millisecond
	p := startProvider(t, newClient(t, app, Options{PollInterval: poll}))
	c := newClient(t, admin, Options{})
	waitSubscribers(t, admin, c.Channel(), 1)
	if err := admin.Do(ctx, "ACL", "SETUSER", "app", "-subscribe").Err(); err != nil {
		t.Fatal(err)
	}
	killPubSub(t, admin)
	for round := range 3 {
		start := time.Now()
		s := mustApply(t, c, to(StageShadow, 0))
		e := nextEvent(t, p, openfeature.ProviderConfigChange, 2*poll)
		if got, _ := e.EventMetadata["epoch"].(int64); got != int64(s.Epoch) {
			t.Fatalf("round %d: got epoch %v, want %d", round, e.EventMetadata["epoch"], s.Epoch)
		}
		t.Logf("round %d: change seen after %s by polling every %s", round, time.Since(start), poll)
	}
	if m := admin.PubSubNumSub(ctx, c.Channel()).Val(); m[c.Channel()] != 0 {
		t.Fatalf("got %d subscribers, want 0: the change may have come by pub/sub", m[c.Channel()])
	}
}

// TestRedisResubscribesAfterKill proves the subscription itself comes back:
// with a one-hour poll only pub/sub can deliver changes.
func TestRedisResubscribesAfterKill(t *testing.T) {
	srv := redistest.StartServer(t)
	admin := srv.Client(t)
	c := newClient(t, srv.Client(t), Options{PollInterval: time.Hour})
	p := startProvider(t, c)
	waitSubscribers(t, admin, c.Channel(), 1)
	for round := range 3 {
		if n := killPubSub(t, admin); n != 1 {
			t.Fatalf("round %d: killed %d pubsub connections, want 1", round, n)
		}
		waitSubscribers(t, admin, c.Channel(), 1)
		// The re-subscription reloads once; nothing changed, so no event.
		noEvent(t, p, 20*time.Millisecond)
		s := mustApply(t, c, to(StageDual, 0))
		e := nextEvent(t, p, openfeature.ProviderConfigChange, 2*time.Second)
		if got, _ := e.EventMetadata["epoch"].(int64); got != int64(s.Epoch) {
			t.Fatalf("round %d: got epoch %v, want %d", round, e.EventMetadata["epoch"], s.Epoch)
		}
	}
}

// waitSubscribers polls PUBSUB NUMSUB until channel has n subscribers.
func waitSubscribers(t *testing.T, admin *redis.Client, channel string, n int64) {
	t.Helper()
	eventually(t, 5*time.Second, "subscribers on "+channel, func() bool {
		m, err := admin.PubSubNumSub(context.Background(), channel).Result()
		return err == nil && m[channel] == n
	})
}

// TestRedisCrashLosesState kills the server (nothing is persisted), so the
// state comes back missing: instances must keep their last good state and
// report an epoch regression until an operator repairs it.
func TestRedisCrashLosesState(t *testing.T) {
	srv := redistest.StartServer(t)
	rdb := srv.Client(t)
	c := newClient(t, rdb, Options{PollInterval: 20 * time.Millisecond, Timeout: 300 * time.Millisecond})
	ctx := context.Background()
	mustApply(t, c, to(StageShadow, 0))
	mustApply(t, c, to(StageDual, 0))
	p := startProvider(t, c)

	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, p, openfeature.ProviderStale, 3*time.Second)
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	e := nextEvent(t, p, openfeature.ProviderError, 3*time.Second)
	if !errors.Is(p.LastError(), ErrCorruptState) {
		t.Fatalf("got %v (%s), want an epoch regression", p.LastError(), e.Message)
	}
	if s, _ := p.State(); s.Stage != StageDual || s.Epoch != 2 {
		t.Fatalf("got %s, want the last good dual (epoch 2)", s)
	}
	// An instance's heartbeat carries the epoch it applied; Repair goes above.
	if err := c.PublishHeartbeat(ctx, Heartbeat{InstanceID: "web-1", Epoch: 2}, time.Minute); err != nil {
		t.Fatal(err)
	}
	fixed, err := c.Repair(ctx, State{Stage: StageDual, Actor: "ann", Reason: "restore after crash"})
	if err != nil {
		t.Fatal(err)
	}
	if fixed.Epoch != 3 {
		t.Fatalf("repaired epoch: got %d, want 3", fixed.Epoch)
	}
	nextEvent(t, p, openfeature.ProviderReady, 3*time.Second)
	nextEvent(t, p, openfeature.ProviderConfigChange, 3*time.Second)
}

func TestRedisCluster(t *testing.T) {
	cl := redistest.StartCluster(t)
	rdb := cl.Client(t)
	c := newClient(t, rdb, Options{PollInterval: time.Hour, Prefix: "app1"})
	ctx := context.Background()
	p := startProvider(t, c)

	mustApply(t, c, to(StageShadow, 0))
	nextEvent(t, p, openfeature.ProviderConfigChange, 3*time.Second)
	if _, err := c.Rollback(ctx, RollbackRequest{Reason: "test", Instance: "web-1", Automatic: true}); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, p, openfeature.ProviderConfigChange, 3*time.Second)
	if _, err := c.Resume(ctx, "ann", "ok"); err != nil {
		t.Fatal(err)
	}
	e := nextEvent(t, p, openfeature.ProviderConfigChange, 3*time.Second)
	if !slices.Contains(e.FlagChanges, FlagTripped) {
		t.Fatalf("resume: got changes %v, want tripped among them", e.FlagChanges)
	}
	h, err := c.History(ctx, 10)
	if err != nil || len(h) != 3 {
		t.Fatalf("History: got %d entries, %v, want 3", len(h), err)
	}
	for _, id := range []string{"web-1", "web-2"} {
		if err := c.PublishHeartbeat(ctx, Heartbeat{InstanceID: id}, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if hbs, err := c.Instances(ctx); err != nil || len(hbs) != 2 {
		t.Fatalf("Instances: got %d, %v, want 2", len(hbs), err)
	}
	if err := c.RemoveHeartbeat(ctx, "web-2"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetLastDiff(ctx, DiffResult{Clean: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Repair(ctx, State{Stage: StageShadow}); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, p, openfeature.ProviderConfigChange, 3*time.Second)
}

// TestRedisNoticeLatency measures, on loopback, the time from calling Apply
// to the provider's configuration-change event, over 200 changes.
func TestRedisNoticeLatency(t *testing.T) {
	srv := redistest.StartServer(t)
	c := newClient(t, srv.Client(t), Options{PollInterval: time.Hour})
	p := startProvider(t, c)
	const n = 200
	lat := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		s := mustApply(t, c, to(StageShadow, 0))
		e := nextEvent(t, p, openfeature.ProviderConfigChange, 2*time.Second)
		lat = append(lat, time.Since(start))
		if got, _ := e.EventMetadata["epoch"].(int64); got != int64(s.Epoch) {
			t.Fatalf("got epoch %v, want %d", e.EventMetadata["epoch"], s.Epoch)
		}
	}
	slices.Sort(lat)
	p50, p99, maxLat := lat[n/2], lat[n*99/100], lat[n-1]
	t.Logf("Apply → PROVIDER_CONFIGURATION_CHANGED over %d changes: p50 %s, p99 %s, max %s", n, p50, p99, maxLat)
	if p99 > 250*time.Millisecond {
		t.Fatalf("p99 %s, want under 250ms on loopback", p99)
	}
}
