package control

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
)

// startProvider initialises a provider over c, read directly (no SDK), and
// shuts it down on cleanup.
func startProvider(t *testing.T, c *Client) *Provider {
	t.Helper()
	p := c.NewProvider()
	t.Cleanup(p.Shutdown)
	if err := p.InitWithContext(context.Background(), openfeature.EvaluationContext{}); err != nil {
		t.Fatalf("Init: %v", err)
	}
	return p
}

// nextEvent returns the provider's next event, failing unless it has type
// want and arrives within d.
func nextEvent(t *testing.T, p *Provider, want openfeature.EventType, d time.Duration) openfeature.Event {
	t.Helper()
	select {
	case e, ok := <-p.EventChannel():
		if !ok {
			t.Fatalf("event channel closed, want %s", want)
		}
		if e.EventType != want {
			t.Fatalf("got event %s (%s), want %s", e.EventType, e.Message, want)
		}
		return e
	case <-time.After(d):
		t.Fatalf("no %s event within %s", want, d)
	}
	panic("unreachable")
}

// noEvent fails if the provider emits an event within d.
func noEvent(t *testing.T, p *Provider, d time.Duration) {
	t.Helper()
	select {
	case e := <-p.EventChannel():
		t.Fatalf("got unexpected event %s (%s)", e.EventType, e.Message)
	case <-time.After(d):
	}
}

func TestProviderThroughOpenFeature(t *testing.T) {
	_, rdb := newMini(t)
	c := newClient(t, rdb, Options{PollInterval: time.Hour})
	ctx := context.Background()
	mustApply(t, c, to(StageShadow, 0))
	mustApply(t, c, to(StageDual, 0))
	mustApply(t, c, to(StageRamp, 12.5))

	api := isolated.NewAPI()
	p := c.NewProvider()
	if err := api.SetProviderAndWait(ctx, p); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := api.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		if _, ok := <-p.EventChannel(); ok {
			t.Error("event channel still open after the API shut down")
		}
	}()
	client := api.NewClient()
	changed := make(chan openfeature.EventDetails, 16)
	cb := func(d openfeature.EventDetails) { changed <- d }
	client.AddHandler(openfeature.ProviderConfigChange, &cb)

	ec := openfeature.EvaluationContext{}
	stage, err := client.StringValueDetails(ctx, FlagStage, "none", ec)
	if err != nil || stage.Value != StageRamp || stage.Reason != openfeature.StaticReason {
		t.Fatalf("stage: got %+v, %v, want ramp (STATIC)", stage, err)
	}
	if e, err := stage.FlagMetadata.GetInt("epoch"); err != nil || e != 3 {
		t.Fatalf("stage metadata epoch: got %d, %v, want 3", e, err)
	}
	percent, err := client.FloatValueDetails(ctx, FlagPercent, -1, ec)
	if err != nil || percent.Value != 12.5 {
		t.Fatalf("percent: got %+v, %v, want 12.5", percent, err)
	}
	epoch, err := client.IntValueDetails(ctx, FlagEpoch, -1, ec)
	if err != nil || epoch.Value != 3 {
		t.Fatalf("epoch: got %+v, %v, want 3", epoch, err)
	}
	tripped, err := client.BooleanValueDetails(ctx, FlagTripped, true, ec)
	if err != nil || tripped.Value {
		t.Fatalf("tripped: got %+v, %v, want false", tripped, err)
	}

	if _, err := c.Rollback(ctx, RollbackRequest{Automatic: true, Reason: "errors"}); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-changed:
		if e, _ := d.EventMetadata["epoch"].(int64); e != 4 || !slices.Contains(d.FlagChanges, FlagTripped) || !slices.Contains(d.FlagChanges, FlagStage) {
			t.Fatalf("got change event %+v, want epoch 4 changing stage and tripped", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no configuration change within 2s")
	}
	if v, _ := client.BooleanValue(ctx, FlagTripped, false, ec); !v {
		t.Fatal("tripped: got false after rollback, want true")
	}
	if v, _ := client.StringValue(ctx, FlagStage, "", ec); v != StageShadow {
		t.Fatalf("stage after rollback: got %q, want shadow", v)
	}
}

func TestProviderEvaluations(t *testing.T) {
	_, rdb := newMini(t)
	c := newClient(t, rdb, Options{PollInterval: time.Hour})
	mustApply(t, c, to(StageShadow, 0))
	ctx := context.Background()

	p := c.NewProvider()
	t.Cleanup(p.Shutdown)
	if d := p.StringEvaluation(ctx, FlagStage, "def", nil); d.Value != "def" || d.ResolutionDetail().ErrorCode != openfeature.ProviderNotReadyCode {
		t.Fatalf("before Init: got %+v, want the default and PROVIDER_NOT_READY", d)
	}
	if err := p.Init(openfeature.EvaluationContext{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		eval func() (any, openfeature.ProviderResolutionDetail)
		want any
		code openfeature.ErrorCode
	}{
		{"stage", func() (any, openfeature.ProviderResolutionDetail) {
			d := p.StringEvaluation(ctx, FlagStage, "def", nil)
			return d.Value, d.ProviderResolutionDetail
		}, StageShadow, ""},
		{"percent", func() (any, openfeature.ProviderResolutionDetail) {
			d := p.FloatEvaluation(ctx, FlagPercent, -1, nil)
			return d.Value, d.ProviderResolutionDetail
		}, 0.0, ""},
		{"epoch", func() (any, openfeature.ProviderResolutionDetail) {
			d := p.IntEvaluation(ctx, FlagEpoch, -1, nil)
			return d.Value, d.ProviderResolutionDetail
		}, int64(1), ""},
		{"tripped", func() (any, openfeature.ProviderResolutionDetail) {
			d := p.BooleanEvaluation(ctx, FlagTripped, true, nil)
			return d.Value, d.ProviderResolutionDetail
		}, false, ""},
		{"object", func() (any, openfeature.ProviderResolutionDetail) {
			d := p.ObjectEvaluation(ctx, FlagStage, nil, nil)
			return d.Value, d.ProviderResolutionDetail
		}, StageShadow, ""},
		{"stage as float", func() (any, openfeature.ProviderResolutionDetail) {
			d := p.FloatEvaluation(ctx, FlagStage, -1, nil)
			return d.Value, d.ProviderResolutionDetail
		}, -1.0, openfeature.TypeMismatchCode},
		{"percent as int", func() (any, openfeature.ProviderResolutionDetail) {
			d := p.IntEvaluation(ctx, FlagPercent, -1, nil)
			return d.Value, d.ProviderResolutionDetail
		}, int64(-1), openfeature.TypeMismatchCode},
		{"unknown flag", func() (any, openfeature.ProviderResolutionDetail) {
			d := p.StringEvaluation(ctx, "other-flag", "def", nil)
			return d.Value, d.ProviderResolutionDetail
		}, "def", openfeature.FlagNotFoundCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, d := tt.eval()
			if v != tt.want {
				t.Fatalf("got value %v (%T), want %v (%T)", v, v, tt.want, tt.want)
			}
			rd := d.ResolutionDetail()
			if rd.ErrorCode != tt.code {
				t.Fatalf("got error code %q, want %q", rd.ErrorCode, tt.code)
			}
			if tt.code != "" {
				if rd.Reason != openfeature.ErrorReason {
					t.Fatalf("got reason %s, want ERROR", rd.Reason)
				}
				return
			}
			if e, err := rd.FlagMetadata.GetInt("epoch"); err != nil || e != 1 {
				t.Fatalf("metadata epoch: got %d, %v, want 1", e, err)
			}
			if stale, err := rd.FlagMetadata.GetBool("stale"); err != nil || stale {
				t.Fatalf("metadata stale: got %v, %v, want false", stale, err)
			}
		})
	}
}

func TestProviderConfigChangeOnUpdate(t *testing.T) {
	_, rdb := newMini(t)
	c := newClient(t, rdb, Options{PollInterval: time.Hour})
	p := startProvider(t, c)
	if s, ok := p.State(); !ok || s.Epoch != 0 || s.Stage != StageLocal {
		t.Fatalf("after Init: got %s, %v, want local (epoch 0)", s, ok)
	}
	for _, step := range []struct {
		stage   string
		percent float64
		flags   []string
	}{
		{StageShadow, 0, []string{FlagStage, FlagEpoch}},
		{StageDual, 0, []string{FlagStage, FlagEpoch}},
		{StageRamp, 5, []string{FlagStage, FlagPercent, FlagEpoch}},
		{StageRamp, 50, []string{FlagPercent, FlagEpoch}},
	} {
		s := mustApply(t, c, to(step.stage, step.percent))
		e := nextEvent(t, p, openfeature.ProviderConfigChange, 2*time.Second)
		if got, _ := e.EventMetadata["epoch"].(int64); got != int64(s.Epoch) || !slices.Equal(e.FlagChanges, step.flags) {
			t.Fatalf("got epoch %v flags %v, want %d %v", e.EventMetadata["epoch"], e.FlagChanges, s.Epoch, step.flags)
		}
		if got, _ := p.State(); got.Epoch != s.Epoch {
			t.Fatalf("event before cache: cached epoch %d, want %d", got.Epoch, s.Epoch)
		}
	}
	noEvent(t, p, 20*time.Millisecond)
}

func TestProviderKeepsLastGoodState(t *testing.T) {
	_, rdb := newMini(t)
	c := newClient(t, rdb, Options{PollInterval: time.Hour})
	ctx := context.Background()
	mustApply(t, c, to(StageShadow, 0))
	mustApply(t, c, to(StageDual, 0))
	p := startProvider(t, c)

	cases := []struct {
		name    string
		corrupt func()
		msg     string
	}{
		{"unknown stage", func() { rdb.Set(ctx, c.keys.state, `{"stage":"hyperdrive","percent":0,"epoch":9}`, 0) }, `stage "hyperdrive"`},
		{"garbage", func() { rdb.Set(ctx, c.keys.state, `{{`, 0) }, "not a JSON state"},
		{"epoch regression", func() { rdb.Del(ctx, c.keys.state) }, "epoch went backwards from"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.corrupt()
			rdb.Publish(ctx, c.Channel(), "1000000") // a notice, as if a writer had bumped the epoch
			e := nextEvent(t, p, openfeature.ProviderError, 2*time.Second)
			if !strings.Contains(e.Message, tc.msg) || e.ErrorCode != openfeature.ParseErrorCode {
				t.Fatalf("got error event %q (%s), want PARSE_ERROR mentioning %q", e.Message, e.ErrorCode, tc.msg)
			}
			if err := p.LastError(); !errors.Is(err, ErrCorruptState) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("LastError: got %v, want ErrCorruptState mentioning %q", err, tc.msg)
			}
			d := p.StringEvaluation(ctx, FlagStage, "def", nil)
			stale, _ := d.FlagMetadata.GetBool("stale")
			if d.Value != StageDual || d.Reason != openfeature.CachedReason || !stale {
				t.Fatalf("evaluation: got %+v, want the last good stage dual, CACHED, stale", d)
			}

			s, err := c.Repair(ctx, State{Stage: StageDual, Actor: "ann", Reason: "repair"})
			if err != nil {
				t.Fatal(err)
			}
			nextEvent(t, p, openfeature.ProviderReady, 2*time.Second)
			e = nextEvent(t, p, openfeature.ProviderConfigChange, 2*time.Second)
			if got, _ := e.EventMetadata["epoch"].(int64); got != int64(s.Epoch) {
				t.Fatalf("after repair: got epoch %v, want %d", e.EventMetadata["epoch"], s.Epoch)
			}
			if p.LastError() != nil {
				t.Fatalf("LastError after repair: %v", p.LastError())
			}
		})
	}
}

func TestProviderStaleWhileRedisDown(t *testing.T) {
	m, rdb := newMini(t)
	c := newClient(t, rdb, Options{PollInterval: 10 * time.Millisecond, Timeout: 200 * time.Millisecond})
	mustApply(t, c, to(StageShadow, 0))
	p := startProvider(t, c)

	m.Close()
	e := nextEvent(t, p, openfeature.ProviderStale, 2*time.Second)
	if !strings.Contains(e.Message, "serving the last good state") {
		t.Fatalf("got %q, want it to say the last good state is served", e.Message)
	}
	if s, ok := p.State(); !ok || s.Stage != StageShadow || p.LastError() == nil {
		t.Fatalf("while down: got %s, %v, err %v, want shadow kept and an error", s, ok, p.LastError())
	}
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, p, openfeature.ProviderReady, 2*time.Second)
	if p.LastError() != nil {
		t.Fatalf("LastError after recovery: %v", p.LastError())
	}
	s := mustApply(t, c, to(StageDual, 0))
	nextEvent(t, p, openfeature.ProviderConfigChange, 2*time.Second)
	if got, _ := p.State(); got.Epoch != s.Epoch {
		t.Fatalf("got epoch %d, want %d", got.Epoch, s.Epoch)
	}
}

func TestProviderInitFailsThenRecovers(t *testing.T) {
	m, rdb := newMini(t)
	c := newClient(t, rdb, Options{PollInterval: 10 * time.Millisecond, Timeout: 200 * time.Millisecond})
	mustApply(t, c, to(StageShadow, 0))
	m.Close()

	p := c.NewProvider()
	t.Cleanup(p.Shutdown)
	if err := p.Init(openfeature.EvaluationContext{}); err == nil {
		t.Fatal("Init with Redis down: got nil, want an error")
	}
	if d := p.StringEvaluation(context.Background(), FlagStage, "def", nil); d.Value != "def" || d.ResolutionDetail().ErrorCode != openfeature.ProviderNotReadyCode {
		t.Fatalf("got %+v, want the default and PROVIDER_NOT_READY", d)
	}
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, p, openfeature.ProviderReady, 2*time.Second)
	nextEvent(t, p, openfeature.ProviderConfigChange, 2*time.Second)
	if s, ok := p.State(); !ok || s.Stage != StageShadow {
		t.Fatalf("got %s, %v, want shadow", s, ok)
	}
}

// TestProviderPollsWhenNoticeIsLost changes the state without a notice, as
// when the publish is lost with a subscriber's connection: the poll must
// still deliver it.
func TestProviderPollsWhenNoticeIsLost(t *testing.T) {
	_, rdb := newMini(t)
	poll := 30 * time.Millisecond
	c := newClient(t, rdb, Options{PollInterval: poll})
	p := startProvider(t, c)
	raw := `{"stage":"shadow","percent":0,"epoch":1}`
	start := time.Now()
	if err := rdb.Set(context.Background(), c.keys.state, raw, 0).Err(); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, p, openfeature.ProviderConfigChange, 20*poll)
	t.Logf("seen after %s with a %s poll", time.Since(start), poll)
	if s, _ := p.State(); s.Stage != StageShadow {
		t.Fatalf("got %s, want shadow", s)
	}
}

func TestProviderLifecycle(t *testing.T) {
	_, rdb := newMini(t)
	c := newClient(t, rdb, Options{})
	p := c.NewProvider()
	ctx := context.Background()
	if err := p.InitWithContext(ctx, openfeature.EvaluationContext{}); err != nil {
		t.Fatal(err)
	}
	if err := p.InitWithContext(ctx, openfeature.EvaluationContext{}); err != nil {
		t.Fatalf("second Init: %v", err)
	}
	if err := p.ShutdownWithContext(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.ShutdownWithContext(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if err := p.Init(openfeature.EvaluationContext{}); err == nil {
		t.Fatal("Init after Shutdown: got nil, want an error")
	}
	if _, ok := <-p.EventChannel(); ok {
		t.Fatal("event channel open after Shutdown")
	}
	// Evaluations still answer from the cache.
	if d := p.StringEvaluation(ctx, FlagStage, "def", nil); d.Value != StageLocal {
		t.Fatalf("after Shutdown: got %q, want the cached local", d.Value)
	}
	never := c.NewProvider()
	if err := never.ShutdownWithContext(ctx); err != nil {
		t.Fatalf("Shutdown without Init: %v", err)
	}
}

func TestProviderDropsEventsNobodyReads(t *testing.T) {
	_, rdb := newMini(t)
	c := newClient(t, rdb, Options{PollInterval: time.Hour})
	p := startProvider(t, c)
	for range eventBuffer + 5 {
		want := mustApply(t, c, to(StageShadow, 0))
		eventually(t, 2*time.Second, "the change cached", func() bool {
			s, _ := p.State()
			return s.Epoch == want.Epoch
		})
	}
	// The last event is emitted just after its state is cached.
	eventually(t, 2*time.Second, "five events dropped", func() bool { return p.DroppedEvents() >= 5 })
	buffered := len(p.EventChannel())
	if got := p.DroppedEvents(); got != 5 || buffered != eventBuffer {
		t.Fatalf("got %d dropped and %d buffered, want 5 and %d (%d changes, nobody reading)", got, buffered, eventBuffer, eventBuffer+5)
	}
}

func BenchmarkProviderEvaluation(b *testing.B) {
	_, rdb := newMini(b)
	c := newClient(b, rdb, Options{PollInterval: time.Hour})
	p := c.NewProvider()
	defer p.Shutdown()
	if err := p.Init(openfeature.EvaluationContext{}); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if d := p.FloatEvaluation(ctx, FlagPercent, -1, nil); d.Value != 0 {
			b.Fatalf("got %v, want 0", d.Value)
		}
	}
}
