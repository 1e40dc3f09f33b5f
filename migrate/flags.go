package migrate

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/open-feature/go-sdk/openfeature"

	"github.com/sessionmigrate/sessionmigrate/router"
)

// followFlags evaluates the flags once and then again on every provider
// change event and every PollInterval, from one goroutine that Close stops.
// Requests never evaluate flags: they read the state cached by applyLocked.
func (m *Migrator) followFlags() {
	m.refreshFlags()
	cb := func(openfeature.EventDetails) { m.requestRefresh() }
	handler := openfeature.EventCallback(&cb)
	m.opts.Flags.AddHandler(openfeature.ProviderConfigChange, handler)
	m.opts.Flags.AddHandler(openfeature.ProviderReady, handler)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer m.opts.Flags.RemoveHandler(openfeature.ProviderConfigChange, handler)
		defer m.opts.Flags.RemoveHandler(openfeature.ProviderReady, handler)
		t := time.NewTicker(m.opts.PollInterval)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
			case <-m.refresh:
			}
			m.refreshFlags()
		}
	}()
}

// requestRefresh asks the follower goroutine to re-read the flags; it never
// blocks (a pending request already covers this one).
func (m *Migrator) requestRefresh() {
	select {
	case m.refresh <- struct{}{}:
	default:
	}
}

// refreshFlags reads the flags and applies them. A bad or unreadable value
// keeps the last good state; a transition the Migrator refuses
// (checkTransition) keeps the routing in effect. Either is recorded in
// State.FlagError, counted and logged once (after m.mu is released). The
// first good evaluation is adopted as it is: a new Migrator has written
// nothing yet, so a restarted instance joins its fleet wherever it is.
func (m *Migrator) refreshFlags() {
	ctx, cancel := context.WithTimeout(context.Background(), m.opts.FlagTimeout)
	defer cancel()
	m.mu.Lock()
	cur, first := m.desired, !m.adopted
	m.mu.Unlock()

	next, force, err := m.evaluate(ctx, cur)
	var ref *refusal
	if err == nil && !first {
		// Leaving complete forgets local copies (I/O, no lock held):
		// only when the move is allowed.
		if ref = checkTransition(cur, next, guardrails{force: force}); ref == nil {
			err = m.leavingComplete(next.stage)
		}
	}

	var logs logLines
	released := false
	m.mu.Lock()
	switch {
	case err != nil:
		m.metrics.flagErrors.Inc()
		msg := err.Error()
		if msg != m.flagError {
			logs.add(slog.LevelWarn, "sessionmigrate: flag evaluation failed; keeping the last good state", "error", msg)
		}
		m.flagError = msg
	default:
		if m.trip != nil && next.epoch > m.trip.epoch && !next.tripped {
			m.trip, released = nil, true
		}
		if !first {
			// Again under the lock: SetStage may have moved meanwhile.
			ref = checkTransition(m.desired, next, m.guardrails(force))
		}
		if ref != nil {
			m.metrics.flagRefused.WithLabelValues(ref.reason).Inc()
			if ref.msg != m.flagError {
				logs.add(slog.LevelError, "sessionmigrate: refused the state the flags ask for; keeping the routing in effect",
					"reason", ref.reason, "error", ref.msg)
			}
			m.flagError = ref.msg
			break
		}
		m.adopted = true
		m.flagError = next.warning
		m.desired = next
	}
	_ = m.applyLocked(&logs)
	m.mu.Unlock()
	logs.emit(m.opts.Logger)
	if released {
		m.resumed("control plane")
	}
}

// evaluate reads every flag; it holds no lock (providers may do I/O). force
// is FlagForce: false when missing or unreadable.
func (m *Migrator) evaluate(ctx context.Context, cur desired) (next desired, force bool, err error) {
	f, ec := m.opts.Flags, m.opts.EvaluationContext
	sd, err := f.StringValueDetails(ctx, FlagStage, string(cur.stage), ec)
	if err != nil {
		return cur, false, fmt.Errorf("flag %s: %w", FlagStage, err)
	}
	stage, err := ParseStage(sd.Value)
	if err != nil {
		return cur, false, fmt.Errorf("flag %s: %w", FlagStage, err)
	}
	pd, err := f.FloatValueDetails(ctx, FlagPercent, cur.percent, ec)
	if err != nil && pd.ErrorCode != openfeature.FlagNotFoundCode {
		return cur, false, fmt.Errorf("flag %s: %w", FlagPercent, err)
	}
	percent := pd.Value
	if _, err := router.Cut(percent); err != nil || math.IsInf(percent, 0) {
		return cur, false, fmt.Errorf("flag %s: value %v: want 0..100 with at most 2 decimals", FlagPercent, percent)
	}
	next = desired{stage: stage, percent: percent, epoch: cur.epoch, tripped: cur.tripped}
	if stale, _ := sd.FlagMetadata["stale"].(bool); stale {
		// The provider could not read the current state and serves its
		// last good one (the toolkit's control plane marks it so).
		next.warning = "flag provider serves its last good state: the current one could not be read"
	}
	if ed, err := f.IntValueDetails(ctx, FlagEpoch, int64(cur.epoch), ec); err == nil && ed.Value >= 0 {
		next.epoch = uint64(ed.Value)
	} else if epoch, ok := metadataEpoch(sd.FlagMetadata); ok {
		next.epoch = epoch
	}
	if td, err := f.BooleanValueDetails(ctx, FlagTripped, false, ec); err == nil {
		next.tripped = td.Value
	} else if td.ErrorCode == openfeature.FlagNotFoundCode {
		next.tripped = false
	}
	if fd, err := f.BooleanValueDetails(ctx, FlagForce, false, ec); err == nil {
		force = fd.Value
	}
	return next, force, nil
}

// metadataEpoch reads an "epoch" entry a provider may attach to evaluations.
func metadataEpoch(md openfeature.FlagMetadata) (uint64, bool) {
	switch v := md["epoch"].(type) {
	case int64:
		return uint64(v), v >= 0
	case int:
		return uint64(v), v >= 0
	case uint64:
		return v, true
	case float64:
		return uint64(v), v >= 0
	}
	return 0, false
}
