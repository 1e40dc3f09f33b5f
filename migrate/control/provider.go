package control

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/redis/go-redis/v9"
)

// ProviderName is the name in the provider's metadata and events.
const ProviderName = "sessionmigrate-redis"

// eventBuffer is the capacity of the event channel. Events beyond it are
// dropped: a dropped configuration change is harmless because a handler
// reads the current state, which any later event also leads to.
const eventBuffer = 64

// initTimeout bounds Init when the SDK gives no context.
const initTimeout = 10 * time.Second

// Provider is an OpenFeature provider serving the control-plane state as
// flags: FlagStage (string), FlagPercent (float), FlagEpoch (int),
// FlagTripped (bool) and FlagForce (bool). Evaluations read a cached snapshot and never touch
// Redis; the flags ignore the evaluation context. Every resolution carries
// flag metadata "epoch" (int64) and "stale" (bool: the last reload failed
// and the value is the last good state, reason CACHED).
//
// Init subscribes to the change channel and starts a poll every
// Options.PollInterval as a safety net for lost notices; each change is
// followed by a PROVIDER_CONFIGURATION_CHANGED event after the new state is
// cached. A state that cannot be read keeps the last good one: an unreachable
// Redis emits PROVIDER_STALE, a corrupt or unknown state (or an epoch lower
// than one already applied) emits PROVIDER_ERROR, and recovery emits
// PROVIDER_READY; LastError reports the cause meanwhile. A reload that could
// not reach Redis is retried with a short backoff rather than at the next
// poll, and a subscription silent for too long is replaced, which catches
// half-open connections. Shutdown stops every
// goroutine. A Provider is used once: it cannot be initialised again after
// Shutdown.
//
// Obtain one with [Client.NewProvider]; it is safe for concurrent use.
type Provider struct {
	c    *Client
	snap atomic.Pointer[snapshot]

	events  chan openfeature.Event
	kick    chan struct{}  // coalescing reload request
	initReq chan *initWait // a later Init's reload request
	dropped atomic.Uint64

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex // guards the fields below; never held across I/O
	started bool
	closed  bool
	ps      *redis.PubSub

	health         health        // owned by the refresh goroutine
	healthInterval time.Duration // pubsubHealthInterval; shortened by tests
}

// snapshot is what evaluations read: the last good state and the last
// reload error.
type snapshot struct {
	state State
	ok    bool  // state holds a good state
	err   error // non-nil when the last reload failed
}

var (
	_ openfeature.FeatureProvider          = (*Provider)(nil)
	_ openfeature.StateHandler             = (*Provider)(nil)
	_ openfeature.ContextAwareStateHandler = (*Provider)(nil)
	_ openfeature.EventHandler             = (*Provider)(nil)
)

// NewProvider returns a Provider over the client's control plane. It does
// nothing until Init.
func (c *Client) NewProvider() *Provider {
	ctx, cancel := context.WithCancel(context.Background())
	return &Provider{
		c:       c,
		events:  make(chan openfeature.Event, eventBuffer),
		kick:    make(chan struct{}, 1),
		initReq: make(chan *initWait),
		ctx:     ctx,
		cancel:  cancel,

		healthInterval: pubsubHealthInterval,
	}
}

// Metadata returns the provider's name.
func (p *Provider) Metadata() openfeature.Metadata {
	return openfeature.Metadata{Name: ProviderName}
}

// Hooks returns no hooks.
func (p *Provider) Hooks() []openfeature.Hook { return nil }

// EventChannel returns the channel of provider events. It is closed by
// Shutdown. Sends never block: when nobody reads, events are dropped.
func (p *Provider) EventChannel() <-chan openfeature.Event { return p.events }

// Init is InitWithContext with a ten-second bound.
func (p *Provider) Init(evalCtx openfeature.EvaluationContext) error {
	ctx, cancel := context.WithTimeout(context.Background(), initTimeout)
	defer cancel()
	return p.InitWithContext(ctx, evalCtx)
}

// InitWithContext starts the subscription and the poll (once) and loads the
// state. It returns nil when a good state is cached, otherwise why not (the
// goroutines keep trying; success later emits PROVIDER_READY). After
// Shutdown it returns an error.
func (p *Provider) InitWithContext(ctx context.Context, _ openfeature.EvaluationContext) error {
	w := newInitWait()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return errors.New("control: provider: init after shutdown")
	}
	first := !p.started
	if first {
		p.started = true
		p.wg.Add(2)
		go p.refreshLoop(w)
		go p.subscribeLoop()
	}
	p.mu.Unlock()

	if !first {
		select {
		case p.initReq <- w:
		case <-ctx.Done():
			return fmt.Errorf("control: provider: init: %w", ctx.Err())
		case <-p.ctx.Done():
			return errors.New("control: provider: init: shut down")
		}
	}
	var err error
	select {
	case <-w.done:
		err = w.err
	case <-ctx.Done():
		var delivered bool
		if err, delivered = w.abandon(); !delivered {
			err = ctx.Err()
		}
	case <-p.ctx.Done():
		err = errors.New("shut down")
	}
	if err != nil {
		return fmt.Errorf("control: provider: init: %w", err)
	}
	return nil
}

// Shutdown is ShutdownWithContext without a bound.
func (p *Provider) Shutdown() { _ = p.ShutdownWithContext(context.Background()) }

// ShutdownWithContext stops every goroutine, waits for them (or for ctx) and
// closes the event channel. It is idempotent.
func (p *Provider) ShutdownWithContext(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	ps := p.ps
	p.mu.Unlock()

	p.cancel()
	if ps != nil {
		_ = ps.Close() // unblocks a pending receive
	}
	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(p.events)
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("control: provider: shutdown: %w", ctx.Err())
	}
}

// State returns the cached state and whether one has been loaded.
func (p *Provider) State() (State, bool) {
	s := p.snap.Load()
	if s == nil || !s.ok {
		return State{}, false
	}
	return s.state, true
}

// LastError returns why the last reload failed (unreachable Redis, corrupt
// or unknown state, epoch regression), or nil when it succeeded. While it is
// non-nil, evaluations serve the last good state.
func (p *Provider) LastError() error {
	if s := p.snap.Load(); s != nil {
		return s.err
	}
	return nil
}

// DroppedEvents returns how many events were dropped because the event
// channel was full.
func (p *Provider) DroppedEvents() uint64 { return p.dropped.Load() }

// BooleanEvaluation resolves FlagTripped and FlagForce.
func (p *Provider) BooleanEvaluation(_ context.Context, flag string, def bool, _ openfeature.FlattenedContext) openfeature.BoolResolutionDetail {
	return resolve(p, flag, def)
}

// StringEvaluation resolves FlagStage.
func (p *Provider) StringEvaluation(_ context.Context, flag string, def string, _ openfeature.FlattenedContext) openfeature.StringResolutionDetail {
	return resolve(p, flag, def)
}

// FloatEvaluation resolves FlagPercent.
func (p *Provider) FloatEvaluation(_ context.Context, flag string, def float64, _ openfeature.FlattenedContext) openfeature.FloatResolutionDetail {
	return resolve(p, flag, def)
}

// IntEvaluation resolves FlagEpoch.
func (p *Provider) IntEvaluation(_ context.Context, flag string, def int64, _ openfeature.FlattenedContext) openfeature.IntResolutionDetail {
	return resolve(p, flag, def)
}

// ObjectEvaluation resolves any of the flags to its value as an any.
func (p *Provider) ObjectEvaluation(_ context.Context, flag string, def any, _ openfeature.FlattenedContext) openfeature.InterfaceResolutionDetail {
	return resolve(p, flag, def)
}

// resolve looks flag up in the cached snapshot and converts it to T.
func resolve[T any](p *Provider, flag string, def T) openfeature.GenericResolutionDetail[T] {
	out := openfeature.GenericResolutionDetail[T]{Value: def}
	snap := p.snap.Load()
	if snap == nil || !snap.ok {
		msg := "no migration state loaded yet"
		if snap != nil && snap.err != nil {
			msg += ": " + snap.err.Error()
		}
		out.Reason = openfeature.ErrorReason
		out.ResolutionError = openfeature.NewProviderNotReadyResolutionError(msg)
		return out
	}
	s := snap.state
	var v any
	switch flag {
	case FlagStage:
		v = s.Stage
		out.Variant = s.Stage
	case FlagPercent:
		v = s.Percent
	case FlagEpoch:
		v = int64(s.Epoch)
	case FlagTripped:
		v = s.Tripped()
	case FlagForce:
		v = s.Force
	default:
		out.Reason = openfeature.ErrorReason
		out.ResolutionError = openfeature.NewFlagNotFoundResolutionError(fmt.Sprintf("flag %q is not served by %s", flag, ProviderName))
		return out
	}
	t, ok := v.(T)
	if !ok {
		out.Variant = ""
		out.Reason = openfeature.ErrorReason
		out.ResolutionError = openfeature.NewTypeMismatchResolutionError(fmt.Sprintf("flag %q is a %T", flag, v))
		return out
	}
	out.Value = t
	out.Reason = openfeature.StaticReason
	if snap.err != nil {
		out.Reason = openfeature.CachedReason
	}
	out.FlagMetadata = openfeature.FlagMetadata{"epoch": int64(s.Epoch), "stale": snap.err != nil}
	return out
}
