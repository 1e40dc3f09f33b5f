package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/redis/go-redis/v9"
)

// pubsubHealthInterval is how long the subscription may stay silent before
// it is pinged; a second silent interval replaces the connection, which
// catches half-open TCP connections that never report an error.
const pubsubHealthInterval = 15 * time.Second

// maxRetryDelay caps the wait between failed subscription attempts and
// between retries of a failed reload (which the poll interval also caps).
const maxRetryDelay = time.Second

// health is the provider's view of the control plane, as reported by events.
type health int

const (
	healthUnknown health = iota // nothing loaded yet
	healthOK                    // the last reload succeeded
	healthStale                 // Redis could not be read: serving the last good state
	healthError                 // the stored state is unusable: serving the last good state
)

// refreshLoop performs every reload, so snapshots and events follow one
// order: first the load the first Init waits for, then one on each poll
// tick, each kick from the subscriber and each later Init. A reload that
// could not reach Redis is retried with a backoff capped at the poll
// interval, so a transient failure does not leave the instance a whole poll
// interval behind a notice it already consumed.
func (p *Provider) refreshLoop(w *initWait) {
	defer p.wg.Done()
	t := time.NewTicker(p.c.opts.PollInterval)
	defer t.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	failures := 0
	for {
		if w == nil {
			select {
			case <-p.ctx.Done():
				return
			case <-t.C:
			case <-retry.C:
			case <-p.kick:
			case w = <-p.initReq:
			}
		}
		events, err := p.refresh()
		if p.ctx.Err() != nil {
			return
		}
		// An Init still waiting reports this outcome itself and the SDK
		// emits READY or ERROR for it; if Init gave up, emit ourselves.
		if w != nil && w.deliver(err) {
			events = nil
		}
		w = nil
		for _, e := range events {
			p.emit(e)
		}
		retry.Stop()
		if err == nil || errors.Is(err, ErrCorruptState) {
			failures = 0 // a corrupt state needs a writer, whose notice reloads
			continue
		}
		failures++
		retry.Reset(min(retryDelay(failures), p.c.opts.PollInterval))
	}
}

// initWait is one Init's wait for the outcome of a load. Init may give up
// (its context ends) while the load runs; the mutex makes "delivered" and
// "abandoned" exclusive, so exactly one side reports the outcome.
type initWait struct {
	done chan struct{} // closed on delivery

	mu        sync.Mutex
	err       error
	delivered bool
	abandoned bool
}

func newInitWait() *initWait { return &initWait{done: make(chan struct{})} }

// deliver hands err to the waiting Init and reports true, or reports false
// when Init has given up.
func (w *initWait) deliver(err error) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.abandoned {
		return false
	}
	w.err, w.delivered = err, true
	close(w.done)
	return true
}

// abandon gives up waiting. If the outcome was delivered meanwhile it
// returns it and true.
func (w *initWait) abandon() (error, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.delivered {
		return w.err, true
	}
	w.abandoned = true
	return nil, false
}

// refresh reloads the state, caches it if it is good and returns the events
// the change calls for and the reload's error.
func (p *Provider) refresh() ([]openfeature.Event, error) {
	ctx, cancel := context.WithTimeout(p.ctx, p.c.opts.Timeout)
	s, err := p.c.State(ctx)
	cancel()
	if p.ctx.Err() != nil {
		return nil, p.ctx.Err()
	}
	var prev snapshot
	if old := p.snap.Load(); old != nil {
		prev = *old
	}
	if err == nil && prev.ok && s.Epoch < prev.state.Epoch {
		err = fmt.Errorf("control: state: %w: epoch went backwards from %d to %d; was the state key deleted or restored? Repair it", ErrCorruptState, prev.state.Epoch, s.Epoch)
	}
	if err != nil {
		return p.fail(prev, err), err
	}
	return p.succeed(prev, s), nil
}

// fail keeps the last good state, records err and returns the event for a
// change of health.
func (p *Provider) fail(prev snapshot, err error) []openfeature.Event {
	p.snap.Store(&snapshot{state: prev.state, ok: prev.ok, err: err})
	if prev.err == nil || prev.err.Error() != err.Error() {
		kept := "nothing loaded yet"
		if prev.ok {
			kept = prev.state.String()
		}
		p.c.log.Warn("cannot apply the migration state; keeping the last good one", "err", err, "kept", kept)
	}
	kind, typ, code := healthStale, openfeature.ProviderStale, openfeature.ErrorCode("")
	if errors.Is(err, ErrCorruptState) {
		kind, typ, code = healthError, openfeature.ProviderError, openfeature.ParseErrorCode
	}
	if kind == p.health {
		return nil
	}
	p.health = kind
	return []openfeature.Event{p.event(typ, err.Error()+"; serving the last good state", code, nil, prev.state.Epoch)}
}

// succeed caches s and returns READY when recovering and CONFIGURATION_CHANGED
// when the epoch moved.
func (p *Provider) succeed(prev snapshot, s State) []openfeature.Event {
	p.snap.Store(&snapshot{state: s, ok: true})
	var events []openfeature.Event
	if p.health != healthOK {
		if prev.err != nil {
			p.c.log.Info("migration state readable again", "state", s.String())
		}
		p.health = healthOK
		events = append(events, p.event(openfeature.ProviderReady, "migration state loaded", "", nil, s.Epoch))
	}
	if prev.ok && prev.state.Epoch == s.Epoch {
		return events
	}
	changed := changedFlags(prev, s)
	p.c.log.Info("migration state applied", "stage", s.Stage, "percent", s.Percent, "epoch", s.Epoch,
		"tripped", s.Tripped(), "actor", s.Actor, "reason", s.Reason)
	return append(events, p.event(openfeature.ProviderConfigChange, "migration state is now "+s.String(), "", changed, s.Epoch))
}

// changedFlags lists the flags whose values differ between prev and s.
func changedFlags(prev snapshot, s State) []string {
	if !prev.ok {
		return []string{FlagStage, FlagPercent, FlagEpoch, FlagTripped, FlagForce}
	}
	var out []string
	if prev.state.Stage != s.Stage {
		out = append(out, FlagStage)
	}
	if prev.state.Percent != s.Percent {
		out = append(out, FlagPercent)
	}
	if prev.state.Epoch != s.Epoch {
		out = append(out, FlagEpoch)
	}
	if prev.state.Tripped() != s.Tripped() {
		out = append(out, FlagTripped)
	}
	if prev.state.Force != s.Force {
		out = append(out, FlagForce)
	}
	return out
}

func (p *Provider) event(typ openfeature.EventType, msg string, code openfeature.ErrorCode, flags []string, epoch uint64) openfeature.Event {
	return openfeature.Event{
		ProviderName: ProviderName,
		EventType:    typ,
		ProviderEventDetails: openfeature.ProviderEventDetails{
			Message:       msg,
			FlagChanges:   flags,
			ErrorCode:     code,
			EventMetadata: map[string]any{"epoch": int64(epoch)},
		},
	}
}

// emit sends e without blocking; see eventBuffer for why dropping is safe.
func (p *Provider) emit(e openfeature.Event) {
	select {
	case p.events <- e:
	default:
		p.dropped.Add(1)
		p.c.log.Debug("provider event dropped: nobody is reading the event channel", "type", e.EventType)
	}
}

// requestReload asks the refresh loop for a reload; requests coalesce.
func (p *Provider) requestReload() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// subscribeLoop keeps a subscription to the change channel, replacing the
// connection when it goes silent, until Shutdown.
func (p *Provider) subscribeLoop() {
	defer p.wg.Done()
	for {
		ps := p.openPubSub()
		if ps == nil {
			return
		}
		p.receive(ps)
		_ = ps.Close()
		if p.ctx.Err() != nil {
			return
		}
	}
}

// openPubSub creates the next subscription, or returns nil after Shutdown.
// Creating it without channels does no I/O, so it may happen under the lock
// Shutdown uses to find the subscription to close.
func (p *Provider) openPubSub() *redis.PubSub {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.ps = p.c.rdb.Subscribe(p.ctx)
	return p.ps
}

// receive handles notices on ps until Shutdown or until ps goes silent.
// go-redis reconnects and re-subscribes after connection errors; each
// (re)subscription triggers a reload, since notices sent while disconnected
// are lost.
func (p *Provider) receive(ps *redis.PubSub) {
	if err := ps.Subscribe(p.ctx, p.c.keys.changes); err != nil && p.ctx.Err() == nil {
		p.c.log.Warn("cannot subscribe to migration state changes; polling until it works", "err", err)
	}
	failures, silent := 0, 0
	for {
		msg, err := ps.ReceiveTimeout(p.ctx, p.healthInterval)
		if p.ctx.Err() != nil {
			return
		}
		if err != nil {
			if isTimeout(err) {
				if silent++; silent > 1 {
					p.c.log.Warn("migration state subscription silent; reconnecting")
					return
				}
				_ = ps.Ping(p.ctx)
				continue
			}
			if failures++; failures == 1 {
				p.c.log.Warn("lost the migration state subscription; polling until it is back", "err", err)
			}
			if !sleep(p.ctx, retryDelay(failures)) {
				return
			}
			continue
		}
		silent = 0
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" {
				continue
			}
			if failures > 0 {
				p.c.log.Info("migration state subscription restored")
			}
			p.requestReload()
		case *redis.Message:
			p.onNotice(m.Payload)
		}
		failures = 0
	}
}

// onNotice requests a reload unless the notice's epoch is already applied
// and the last reload succeeded.
func (p *Provider) onNotice(payload string) {
	epoch, err := strconv.ParseUint(payload, 10, 64)
	if s := p.snap.Load(); err == nil && s != nil && s.ok && s.err == nil && epoch <= s.state.Epoch {
		return
	}
	p.requestReload()
}

// retryDelay grows exponentially from 10ms with the number of consecutive
// failures, up to maxRetryDelay.
func retryDelay(failures int) time.Duration {
	return min(10*time.Millisecond<<min(failures-1, 10), maxRetryDelay)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// sleep waits d or until ctx ends; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
