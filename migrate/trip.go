package migrate

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionmigrate/sessionmigrate/consistency"
	"github.com/sessionmigrate/sessionmigrate/migrate/guard"
)

// Rollback is what a guard trip publishes to the control plane.
type Rollback struct {
	// Reason is the guard signal that tripped (a guard.Reason value).
	Reason string
	// Evidence is what the guard saw.
	Evidence guard.Evidence
	// FromStage and FromPercent are what was in effect before the trip;
	// resume returns there.
	FromStage   Stage
	FromPercent float64
	// Epoch is the control-plane epoch the instance had applied.
	Epoch uint64
}

// Publisher records an automatic rollback in the control plane so that
// every instance rolls back and the audit trail shows it. control.Client
// provides one (see control.RollbackPublisher). PublishRollback returns the
// epoch of the state that records the rollback; an operator's resume moves
// past it.
type Publisher interface {
	PublishRollback(ctx context.Context, rb Rollback) (epoch uint64, err error)
}

// onTrip runs on the goroutine that tripped the guard, possibly a request:
// it swaps routing at once (no I/O) and leaves publishing to the publisher
// goroutine. A trip never moves routing forward: at local there is nothing
// to roll back, so it only reports (a metric and a rate-limited log line)
// and re-arms the guard; it neither latches nor publishes a rollback.
func (m *Migrator) onTrip(ev guard.Evidence) {
	var logs logLines
	m.mu.Lock()
	if m.trip != nil || m.closed.Load() {
		m.mu.Unlock()
		return
	}
	prev := m.cur.Load().state
	if prev.Stage == Local {
		m.mu.Unlock()
		m.metrics.guardReports.WithLabelValues(string(ev.Reason)).Inc()
		now := m.opts.Now().UnixNano()
		if last := m.lastLocalTrip.Load(); last == 0 || now-last >= int64(time.Minute) {
			m.lastLocalTrip.Store(now)
			m.opts.Logger.Warn("sessionmigrate: guard tripped at local; nothing to roll back, routing unchanged",
				"reason", string(ev.Reason), "score", ev.Score, "threshold", ev.Threshold,
				"window_ops", ev.Window.Ops, "error_rate", ev.Window.ErrorRate(), "slow_rate", ev.Window.SlowRate())
		}
		if m.guard != nil {
			m.guard.Reset()
		}
		return
	}
	m.trip = &tripInfo{reason: string(ev.Reason), epoch: m.desired.epoch, at: ev.At}
	_ = m.applyLocked(&logs)
	m.mu.Unlock()
	logs.emit(m.opts.Logger)

	m.metrics.rollbacks.WithLabelValues(string(ev.Reason)).Inc()
	msg := "sessionmigrate: guard tripped; reads back to local, distributed writes async"
	if prev.Stage == Complete {
		msg = "sessionmigrate: guard tripped in complete; routing kept (local is no longer written, a rollback would lose data)"
	}
	m.opts.Logger.Error(msg,
		"reason", string(ev.Reason), "score", ev.Score, "threshold", ev.Threshold,
		"window_ops", ev.Window.Ops, "error_rate", ev.Window.ErrorRate(), "slow_rate", ev.Window.SlowRate(),
		"delayed_ops", ev.Window.Delayed, "process_delay", ev.Window.ProcessDelay,
		"from_stage", string(prev.Stage), "from_percent", prev.Percent)
	select {
	case m.trips <- Rollback{Reason: string(ev.Reason), Evidence: ev, FromStage: prev.Stage, FromPercent: prev.Percent, Epoch: prev.Epoch}:
	default: // a publication is already pending; one trip per latch
	}
}

// publishTrips owns the publication of rollbacks: it retries with backoff
// until the control plane records it or the Migrator closes.
func (m *Migrator) publishTrips() {
	defer m.wg.Done()
	for {
		var rb Rollback
		select {
		case <-m.stop:
			return
		case rb = <-m.trips:
		}
		backoff := 50 * time.Millisecond
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			epoch, err := m.opts.Publisher.PublishRollback(ctx, rb)
			cancel()
			if err == nil {
				m.mu.Lock()
				if m.trip != nil && epoch > m.trip.epoch {
					m.trip.epoch = epoch
				}
				m.mu.Unlock()
				m.opts.Logger.Info("sessionmigrate: rollback published to the control plane", "epoch", epoch, "reason", rb.Reason)
				break
			}
			m.opts.Logger.Warn("sessionmigrate: publishing rollback failed; retrying", "error", err.Error())
			select {
			case <-m.stop:
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 5*time.Second)
		}
	}
}

func (m *Migrator) onPause(ev guard.Evidence) {
	m.metrics.paused.Set(1)
	m.opts.Logger.Warn("sessionmigrate: guard paused the ramp", "reason", string(ev.Reason), "score", ev.Score)
}

func (m *Migrator) onGuardState(from, to guard.State) {
	if from == guard.StatePaused && to != guard.StatePaused {
		m.metrics.paused.Set(0)
	}
}

// onMismatch handles a confirmed inconsistency: critical kinds count toward
// the guard's inconsistency signal, and the distributed copy is repaired
// from local, which holds every acknowledged write until complete. A copy
// local does not have (Extra) is removed with a tombstone at its own
// version, so any newer write still wins; a missing, stale or different
// copy is rewritten from local. In complete local is no longer the truth and
// nothing is repaired.
func (m *Migrator) onMismatch(mm consistency.Mismatch) {
	m.metrics.mismatches.WithLabelValues(string(mm.Kind)).Inc()
	if mm.Kind.Critical() && m.guard != nil {
		m.guard.ReportInconsistency(m.opts.Now())
	}
	if m.State().Stage == Complete {
		return
	}
	if mm.Kind == consistency.Extra {
		m.core.MarkDeleted(mm.ID, mm.Distributed.Version, mm.Distributed.ExpiresAt)
		return
	}
	m.core.MarkUnsynced(mm.ID)
}

// Trip latches a rollback by hand, as the guard would (reason "manual").
func (m *Migrator) Trip() {
	if m.guard != nil {
		m.guard.Trip(m.opts.Now())
		return
	}
	m.onTrip(guard.Evidence{Reason: guard.ReasonManual, At: m.opts.Now()})
}

// Paused reports whether the guard's pause tier asks ramps not to advance.
func (m *Migrator) Paused() bool { return m.guard != nil && m.guard.Paused() }

// Guard returns the guard, or nil when Options.DisableGuard is set.
func (m *Migrator) Guard() *guard.Guard { return m.guard }

// scoreCollector exports the guard's scores at scrape time.
type scoreCollector struct {
	g    *guard.Guard
	desc *prometheus.Desc
}

func (c scoreCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c scoreCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.g.Scores()
	for _, r := range guard.Reasons() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, s.Get(r), string(r))
	}
}
