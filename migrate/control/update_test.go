package control

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestStateMissingKeyIsInitial(t *testing.T) {
	_, rdb := newMini(t)
	c := newClient(t, rdb, Options{})
	got, err := c.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := (State{Stage: StageLocal}); got.Stage != want.Stage || got.Percent != 0 || got.Epoch != 0 || got.Tripped() {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestUpdate(t *testing.T) {
	_, rdb := newMini(t)
	clock := newFakeClock()
	c := newClient(t, rdb, Options{Clock: clock.Now})
	ctx := context.Background()

	steps := []struct {
		expect uint64
		next   State
	}{
		{0, State{Stage: StageShadow, Actor: "ann", Reason: "start"}},
		{1, State{Stage: StageDual, Actor: "bob", Reason: "shadow clean", Epoch: 77}}, // Epoch is ignored
		{2, State{Stage: StageRamp, Percent: 12.5, Actor: "ann", Reason: "ramp"}},
	}
	for i, step := range steps {
		clock.Advance(time.Minute)
		got, err := c.Update(ctx, step.expect, step.next)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		want := step.next
		want.Epoch, want.Time = step.expect+1, clock.Now()
		if fmt.Sprint(got) != fmt.Sprint(want) || got.Time != want.Time || got.Actor != want.Actor {
			t.Fatalf("step %d: got %+v, want %+v", i, got, want)
		}
		stored, err := c.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Epoch != want.Epoch || stored.Stage != want.Stage || !stored.Time.Equal(want.Time) || stored.Reason != want.Reason {
			t.Fatalf("step %d: stored %+v, want %+v", i, stored, want)
		}
	}
}

func TestUpdateConflict(t *testing.T) {
	_, rdb := newMini(t)
	c := newClient(t, rdb, Options{})
	ctx := context.Background()
	if _, err := c.Update(ctx, 0, State{Stage: StageShadow}); err != nil {
		t.Fatal(err)
	}
	for _, expect := range []uint64{0, 2, 100} {
		t.Run(fmt.Sprint("expect ", expect), func(t *testing.T) {
			_, err := c.Update(ctx, expect, State{Stage: StageDual})
			if !errors.Is(err, ErrConflict) {
				t.Fatalf("got %v, want ErrConflict", err)
			}
			if s, _ := c.State(ctx); s.Epoch != 1 || s.Stage != StageShadow {
				t.Fatalf("state after conflict: got %s, want shadow (epoch 1)", s)
			}
		})
	}
}

// TestWriteDetectsChangeAfterRead drives the compare-and-set directly: a
// write based on a read that another writer has overtaken must fail.
func TestWriteDetectsChangeAfterRead(t *testing.T) {
	_, rdb := newMini(t)
	c := newClient(t, rdb, Options{})
	ctx := context.Background()
	cur, st, err := c.load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Update(ctx, 0, State{Stage: StageShadow}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.write(ctx, st, State{Stage: StageDual}, cur.Epoch+1, audit{kind: KindUpdate}); !errors.Is(err, ErrConflict) {
		t.Fatalf("write over an absent key that now exists: got %v, want ErrConflict", err)
	}
	cur, st, _ = c.load(ctx)
	if _, err := c.Update(ctx, cur.Epoch, State{Stage: StageDual}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.write(ctx, st, State{Stage: StageLocal}, cur.Epoch+1, audit{kind: KindUpdate}); !errors.Is(err, ErrConflict) {
		t.Fatalf("write over a changed key: got %v, want ErrConflict", err)
	}
	if s, _ := c.State(ctx); s.Epoch != 2 || s.Stage != StageDual {
		t.Fatalf("got %s, want dual (epoch 2)", s)
	}
}

func TestUpdateInvalidWritesNothing(t *testing.T) {
	_, rdb := newMini(t)
	c := newClient(t, rdb, Options{})
	ctx := context.Background()
	for _, next := range []State{
		{Stage: "warp"},
		{Stage: StageDual, Percent: 10},
		{Stage: StageRamp, Percent: 100.1},
		{Stage: StageShadow, Rollback: &RollbackInfo{FromStage: StageDual}},
	} {
		if _, err := c.Update(ctx, 0, next); !errors.Is(err, ErrInvalid) {
			t.Errorf("Update(%+v) = %v, want ErrInvalid", next, err)
		}
	}
	if n := rdb.Exists(ctx, c.keys.state, c.keys.audit).Val(); n != 0 {
		t.Fatalf("got %d keys written, want 0", n)
	}
}

func TestCorruptState(t *testing.T) {
	ctx := context.Background()
	tests := []struct{ name, raw, msg string }{
		{"garbage", "{{{", "not a JSON state"},
		{"unknown stage", `{"stage":"hyperdrive","percent":0,"epoch":12}`, `stage "hyperdrive"`},
		{"bad percent", `{"stage":"ramp","percent":250,"epoch":12}`, "outside 0..100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, rdb := newMini(t)
			c := newClient(t, rdb, Options{})
			if _, err := c.Update(ctx, 0, State{Stage: StageShadow}); err != nil {
				t.Fatal(err)
			}
			if err := rdb.Set(ctx, c.keys.state, tt.raw, 0).Err(); err != nil {
				t.Fatal(err)
			}
			_, err := c.State(ctx)
			if !errors.Is(err, ErrCorruptState) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("State: got %v, want ErrCorruptState mentioning %q", err, tt.msg)
			}
			if _, err := c.Update(ctx, 12, State{Stage: StageDual}); !errors.Is(err, ErrCorruptState) {
				t.Fatalf("Update over corrupt state: got %v, want ErrCorruptState", err)
			}
			if _, err := c.Apply(ctx, func(cur State) (State, error) { return cur, nil }); !errors.Is(err, ErrCorruptState) {
				t.Fatalf("Apply over corrupt state: got %v, want ErrCorruptState", err)
			}

			fixed, err := c.Repair(ctx, State{Stage: StageShadow, Actor: "ann", Reason: "repair"})
			if err != nil {
				t.Fatalf("Repair: %v", err)
			}
			// The corrupt value may carry epoch 12; the audit says 1; the
			// repair must go above both.
			if want := uint64(13); tt.name != "garbage" && fixed.Epoch != want {
				t.Fatalf("repaired epoch: got %d, want %d", fixed.Epoch, want)
			}
			if tt.name == "garbage" && fixed.Epoch != 2 {
				t.Fatalf("repaired epoch: got %d, want 2 (audit had 1)", fixed.Epoch)
			}
			h, err := c.History(ctx, 1)
			if err != nil || len(h) != 1 {
				t.Fatalf("History: %v, %d entries", err, len(h))
			}
			if h[0].Kind != KindRepair || h[0].Prev != nil || h[0].PrevRaw != tt.raw {
				t.Fatalf("repair audit: got kind %q prev %v prev_raw %q, want repair, nil, %q", h[0].Kind, h[0].Prev, h[0].PrevRaw, tt.raw)
			}
		})
	}
}

func TestRepairAboveInstanceEpochs(t *testing.T) {
	_, rdb := newMini(t)
	c := newClient(t, rdb, Options{})
	ctx := context.Background()
	// The control plane lost everything but an instance still reports epoch 40.
	if err := c.PublishHeartbeat(ctx, Heartbeat{InstanceID: "web-1", Stage: StageRamp, Percent: 10, Epoch: 40}, time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := c.Repair(ctx, State{Stage: StageDual})
	if err != nil {
		t.Fatal(err)
	}
	if got.Epoch != 41 {
		t.Fatalf("got epoch %d, want 41", got.Epoch)
	}
	got, err = c.Repair(ctx, State{Stage: StageDual, Epoch: 100})
	if err != nil {
		t.Fatal(err)
	}
	if got.Epoch != 101 {
		t.Fatalf("with floor 100: got epoch %d, want 101", got.Epoch)
	}
	if _, err := c.Repair(ctx, State{Stage: "warp"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("invalid repair: got %v, want ErrInvalid", err)
	}
}

func TestApply(t *testing.T) {
	_, rdb := newMini(t)
	c := newClient(t, rdb, Options{})
	ctx := context.Background()
	s := mustApply(t, c, to(StageShadow, 0))
	if s.Epoch != 1 || s.Stage != StageShadow {
		t.Fatalf("got %s, want shadow (epoch 1)", s)
	}

	t.Run("no change writes nothing", func(t *testing.T) {
		got, err := c.Apply(ctx, func(State) (State, error) { return State{}, ErrNoChange })
		if err != nil || got.Epoch != 1 {
			t.Fatalf("got %s, %v, want epoch 1, nil", got, err)
		}
		if n := rdb.XLen(ctx, c.keys.audit).Val(); n != 1 {
			t.Fatalf("got %d audit entries, want 1", n)
		}
	})
	t.Run("fn error returned as is", func(t *testing.T) {
		boom := refused("nope")
		_, err := c.Apply(ctx, func(State) (State, error) { return State{}, boom })
		if err != boom {
			t.Fatalf("got %v, want fn's error unchanged", err)
		}
	})
	t.Run("gives up after retries", func(t *testing.T) {
		c := newClient(t, rdb, Options{ApplyRetries: 3})
		calls := 0
		_, err := c.Apply(ctx, func(cur State) (State, error) {
			calls++
			// Another writer wins between our read and our write, every time.
			if _, err := c.Update(ctx, cur.Epoch, cur); err != nil {
				t.Fatal(err)
			}
			return cur, nil
		})
		if !errors.Is(err, ErrConflict) || calls != 3 {
			t.Fatalf("got %v after %d calls, want ErrConflict after 3", err, calls)
		}
	})
	t.Run("canceled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := c.Apply(ctx, func(cur State) (State, error) { return cur, nil }); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	})
}

func TestUpdatePublishesEpoch(t *testing.T) {
	_, rdb := newMini(t)
	c := newClient(t, rdb, Options{})
	ctx := context.Background()
	ps := rdb.Subscribe(ctx, c.Channel())
	defer ps.Close()
	if _, err := ps.ReceiveTimeout(ctx, time.Second); err != nil { // subscription confirmation
		t.Fatal(err)
	}
	for epoch := uint64(1); epoch <= 3; epoch++ {
		mustApply(t, c, to(StageShadow, 0))
		msg, err := ps.ReceiveTimeout(ctx, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		m, ok := msg.(*redis.Message)
		if !ok || m.Payload != fmt.Sprint(epoch) {
			t.Fatalf("got %v, want a message with payload %d", msg, epoch)
		}
	}
}

func TestHistory(t *testing.T) {
	_, rdb := newMini(t)
	c := newClient(t, rdb, Options{})
	ctx := context.Background()
	mustApply(t, c, to(StageShadow, 0))
	mustApply(t, c, to(StageDual, 0))
	mustApply(t, c, to(StageRamp, 25))
	if _, err := c.Rollback(ctx, RollbackRequest{Automatic: true, Signal: "latency", Reason: "p99 63ms", Instance: "web-2", Evidence: map[string]string{"p99": "63ms"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Resume(ctx, "ann", "fixed"); err != nil {
		t.Fatal(err)
	}

	all, err := c.History(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind, stage, prev string
	}{
		{KindResume, "ramp 25% (epoch 5)", "shadow (epoch 4) rolled back"},
		{KindRollback, "shadow (epoch 4) rolled back", "ramp 25% (epoch 3)"},
		{KindUpdate, "ramp 25% (epoch 3)", "dual (epoch 2)"},
		{KindUpdate, "dual (epoch 2)", "shadow (epoch 1)"},
		{KindUpdate, "shadow (epoch 1)", ""},
	}
	if len(all) != len(want) {
		t.Fatalf("got %d entries, want %d", len(all), len(want))
	}
	for i, w := range want {
		e := all[i]
		prev := ""
		if e.Prev != nil {
			prev = e.Prev.String()
		}
		if e.Kind != w.kind || e.State.String() != w.stage || prev != w.prev || e.Problem != "" || e.Epoch != e.State.Epoch {
			t.Errorf("entry %d: got %s %q prev %q problem %q epoch %d, want %s %q prev %q", i, e.Kind, e.State, prev, e.Problem, e.Epoch, w.kind, w.stage, w.prev)
		}
		if e.At.IsZero() || e.ID == "" {
			t.Errorf("entry %d: missing ID or time: %+v", i, e)
		}
	}
	rb := all[1].State.Rollback
	if rb == nil || !rb.Automatic || rb.Signal != "latency" || rb.Instance != "web-2" || rb.Evidence["p99"] != "63ms" {
		t.Errorf("rollback entry lost fields: %+v", rb)
	}

	newest, err := c.History(ctx, 2)
	if err != nil || len(newest) != 2 || newest[0].Kind != KindResume {
		t.Fatalf("History(2): got %d entries, %v", len(newest), err)
	}
	if _, err := c.History(ctx, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("History(0): got %v, want ErrInvalid", err)
	}
}

func TestHistoryReportsUndecodableEntries(t *testing.T) {
	_, rdb := newMini(t)
	c := newClient(t, rdb, Options{})
	ctx := context.Background()
	if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: c.keys.audit, Values: []any{"kind", "update", "epoch", "x", "state", "{"}}).Err(); err != nil {
		t.Fatal(err)
	}
	h, err := c.History(ctx, 1)
	if err != nil || len(h) != 1 {
		t.Fatalf("got %d entries, %v", len(h), err)
	}
	if !strings.Contains(h[0].Problem, "epoch") || !strings.Contains(h[0].Problem, "state") || h[0].Kind != "update" {
		t.Fatalf("got %+v, want kind update and a problem naming epoch and state", h[0])
	}
}
