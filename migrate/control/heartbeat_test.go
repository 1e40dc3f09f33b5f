package control

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestHeartbeats(t *testing.T) {
	m, rdb := newMini(t)
	clock := newFakeClock()
	c := newClient(t, rdb, Options{Clock: clock.Now})
	ctx := context.Background()

	list := func() []string {
		t.Helper()
		hbs, err := c.Instances(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]string, len(hbs))
		for i, hb := range hbs {
			ids[i] = hb.InstanceID
		}
		return ids
	}
	if got := list(); len(got) != 0 {
		t.Fatalf("fresh: got %v, want none", got)
	}

	full := Heartbeat{
		InstanceID: "web-2", Host: "pod-7", Version: "v1.4.0",
		Stage: StageRamp, Percent: 12.5, Epoch: 9,
		LocalSessions: 1234, DistErrorRate: 0.002, DistP99: 3 * time.Millisecond,
		Guard:          GuardStatus{Tripped: true, Reason: "p99 63ms", Paused: false},
		LastStateError: "control: corrupt state: stage \"warp\"",
	}
	if err := c.PublishHeartbeat(ctx, full, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.PublishHeartbeat(ctx, Heartbeat{InstanceID: "web-1", Stage: StageRamp}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	hbs, err := c.Instances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	full.At = clock.Now()
	if len(hbs) != 2 || hbs[0].InstanceID != "web-1" || !reflect.DeepEqual(hbs[1], full) {
		t.Fatalf("got %+v, want web-1 then %+v", hbs, full)
	}

	m.FastForward(11 * time.Second)
	if got := list(); !reflect.DeepEqual(got, []string{"web-1"}) {
		t.Fatalf("after web-2's ttl: got %v, want [web-1]", got)
	}
	if n := rdb.ZCard(ctx, c.keys.instances).Val(); n != 1 {
		t.Fatalf("index: got %d members, want 1 (expired pruned)", n)
	}

	if err := c.RemoveHeartbeat(ctx, "web-1"); err != nil {
		t.Fatal(err)
	}
	if got := list(); len(got) != 0 {
		t.Fatalf("after remove: got %v, want none", got)
	}
	if err := c.RemoveHeartbeat(ctx, "never-there"); err != nil {
		t.Fatalf("removing a missing instance: %v", err)
	}
}

func TestHeartbeatSkipsUndecodable(t *testing.T) {
	_, rdb := newMini(t)
	c := newClient(t, rdb, Options{})
	ctx := context.Background()
	for _, id := range []string{"a", "b"} {
		if err := c.PublishHeartbeat(ctx, Heartbeat{InstanceID: id}, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	rdb.Set(ctx, c.instanceKey("a"), "garbage", time.Minute)
	hbs, err := c.Instances(ctx)
	if err != nil || len(hbs) != 1 || hbs[0].InstanceID != "b" {
		t.Fatalf("got %+v, %v, want only b", hbs, err)
	}
}

func TestPublishHeartbeatInvalid(t *testing.T) {
	_, rdb := newMini(t)
	c := newClient(t, rdb, Options{})
	for name, tc := range map[string]struct {
		hb  Heartbeat
		ttl time.Duration
	}{
		"empty id": {Heartbeat{}, time.Second},
		"long id":  {Heartbeat{InstanceID: strings.Repeat("x", maxInstanceIDBytes+1)}, time.Second},
		"zero ttl": {Heartbeat{InstanceID: "a"}, 0},
	} {
		if err := c.PublishHeartbeat(context.Background(), tc.hb, tc.ttl); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}

func TestHeartbeater(t *testing.T) {
	_, rdb := newMini(t)
	c := newClient(t, rdb, Options{})
	ctx := context.Background()
	var calls atomic.Int64
	h, err := c.NewHeartbeater(HeartbeaterOptions{
		Interval: 5 * time.Millisecond,
		Collect: func() Heartbeat {
			n := calls.Add(1)
			return Heartbeat{InstanceID: "web-1", LocalSessions: int(n)}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	h.Start()
	h.Start() // idempotent
	eventually(t, 2*time.Second, "three heartbeats", func() bool { return calls.Load() >= 3 })
	hbs, err := c.Instances(ctx)
	if err != nil || len(hbs) != 1 || hbs[0].LocalSessions < 2 {
		t.Fatalf("got %+v, %v, want web-1 with a recent heartbeat", hbs, err)
	}
	if ttl := rdb.PTTL(ctx, c.instanceKey("web-1")).Val(); ttl <= 0 || ttl > 15*time.Millisecond {
		t.Fatalf("got ttl %s, want three intervals (15ms) at most", ttl)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	n := calls.Load()
	if hbs, _ := c.Instances(ctx); len(hbs) != 0 {
		t.Fatalf("after Close: got %+v, want the heartbeat removed", hbs)
	}
	h.Start() // after Close: nothing
	if calls.Load() != n {
		t.Fatalf("Collect called after Close")
	}
}

func TestHeartbeaterTriggerAndErrors(t *testing.T) {
	m, rdb := newMini(t)
	c := newClient(t, rdb, Options{Timeout: 100 * time.Millisecond})
	var calls, errs atomic.Int64
	h, err := c.NewHeartbeater(HeartbeaterOptions{
		Interval: time.Hour, // only the first beat and triggers
		Collect:  func() Heartbeat { calls.Add(1); return Heartbeat{InstanceID: "web-1"} },
		OnError:  func(error) { errs.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	h.Start()
	defer h.Close()
	eventually(t, 2*time.Second, "first beat", func() bool { return calls.Load() == 1 })
	h.Trigger()
	eventually(t, 2*time.Second, "triggered beat", func() bool { return calls.Load() == 2 })
	// Collect runs before the publish, so the triggered beat may still be
	// publishing and fail too: at least one failure, not exactly one.
	m.SetError("LOADING")
	h.Trigger()
	eventually(t, 2*time.Second, "failed beat reported", func() bool { return errs.Load() >= 1 })
	m.SetError("")
}

func TestNewHeartbeaterValidates(t *testing.T) {
	_, rdb := newMini(t)
	c := newClient(t, rdb, Options{})
	collect := func() Heartbeat { return Heartbeat{} }
	for name, o := range map[string]HeartbeaterOptions{
		"nil collect":      {},
		"ttl not above iv": {Collect: collect, Interval: time.Second, TTL: time.Second},
	} {
		if _, err := c.NewHeartbeater(o); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
	h, err := c.NewHeartbeater(HeartbeaterOptions{Collect: collect})
	if err != nil {
		t.Fatal(err)
	}
	if h.opts.Interval != DefaultHeartbeatInterval || h.opts.TTL != 3*DefaultHeartbeatInterval {
		t.Fatalf("defaults: got %s/%s", h.opts.Interval, h.opts.TTL)
	}
	if err := h.Close(); err != nil { // never started
		t.Fatal(err)
	}
}
