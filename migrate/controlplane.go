package migrate

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
	"github.com/sessionmigrate/sessionmigrate/redact"
)

// ControlPublisher returns a Publisher that records guard trips in the
// control plane as automatic rollbacks to shadow, so every instance follows
// and the audit stream shows the reason and evidence. Rollback is idempotent
// in the control plane, so every instance tripping on one incident is safe.
// A trip in complete is not published: routing stays (see Migrator) and a
// control-plane rollback from complete would lose data.
func ControlPublisher(c *control.Client, instanceID string) Publisher {
	return controlPublisher{c: c, instance: instanceID}
}

type controlPublisher struct {
	c        *control.Client
	instance string
}

func (p controlPublisher) PublishRollback(ctx context.Context, rb Rollback) (uint64, error) {
	if rb.FromStage == Complete {
		return 0, nil
	}
	ev := rb.Evidence
	evidence := map[string]string{
		"score":     strconv.FormatFloat(ev.Score, 'g', 4, 64),
		"threshold": strconv.FormatFloat(ev.Threshold, 'g', 4, 64),
		"at":        ev.At.UTC().Format(time.RFC3339Nano),
	}
	if w := ev.Window; w.Ops > 0 {
		evidence["window_ops"] = strconv.FormatUint(w.Ops, 10)
		evidence["window_error_rate"] = strconv.FormatFloat(w.ErrorRate(), 'g', 4, 64)
		evidence["window_slow_rate"] = strconv.FormatFloat(w.SlowRate(), 'g', 4, 64)
		evidence["window_unavailable_rate"] = strconv.FormatFloat(w.UnavailableRate(), 'g', 4, 64)
		if w.Delayed > 0 || w.ProcessDelay > 0 {
			// Slow calls the process's own delay explained, and the
			// longest stall: a trip beside them is Redis, not the process.
			evidence["window_delayed"] = strconv.FormatUint(w.Delayed, 10)
			evidence["process_delay"] = w.ProcessDelay.String()
		}
	}
	st, err := p.c.Rollback(ctx, control.RollbackRequest{
		To:        control.StageShadow,
		Automatic: true,
		Signal:    rb.Reason,
		Reason:    fmt.Sprintf("guard tripped on %s at %s %v%%", rb.Reason, rb.FromStage, rb.FromPercent),
		Evidence:  evidence,
		Instance:  p.instance,
		Actor:     "guard@" + p.instance,
	})
	if err != nil {
		return 0, err
	}
	return st.Epoch, nil
}

// HeartbeatCollector returns a function for control.HeartbeaterOptions.Collect
// that reports this Migrator: the state applied, local session count (when
// the local store has a Len() int method, as memstore does), the distributed
// store's error rate and p99 latency since the previous heartbeat, the
// guard, the repair backlog, the async writes dropped, and this instance's
// part of the newest diff job it ran. It must be called from one goroutine
// (the Heartbeater's).
func (m *Migrator) HeartbeatCollector(instanceID, host, version string) func() control.Heartbeat {
	var mu sync.Mutex
	var prev histSnapshot
	return func() control.Heartbeat {
		mu.Lock()
		defer mu.Unlock()
		st := m.State()
		cur := m.metrics.snapshot()
		errRate, p99 := cur.since(prev)
		prev = cur
		hb := control.Heartbeat{
			InstanceID: instanceID, Host: host, Version: version,
			Stage: string(st.Stage), Percent: st.Percent, Epoch: st.Epoch,
			DistErrorRate: errRate, DistP99: p99,
			Guard:          control.GuardStatus{Tripped: st.Tripped, Reason: st.TripReason, Paused: m.Paused()},
			LastStateError: st.FlagError,
			Unsynced:       m.core.Unsynced(),
			AsyncDropped:   uint64(counterValue(m.metrics.asyncDropped)),
			LastDiff:       m.lastDiff.Load(),
			SaltID:         redact.SaltID(m.opts.Salt),
		}
		if l, ok := m.local.(interface{ Len() int }); ok {
			hb.LocalSessions = l.Len()
		}
		return hb
	}
}

// histSnapshot is the cumulative distributed-operation counts and latency
// buckets at one instant.
type histSnapshot struct {
	ops, errs float64
	buckets   []float64 // cumulative counts per latencyBuckets edge
	count     float64
}

func (m *metrics) snapshot() histSnapshot {
	s := histSnapshot{buckets: make([]float64, len(latencyBuckets))}
	for o := range numOps {
		for r := range numResults {
			var d dto.Metric
			if err := m.distOps[o][r].(interface{ Write(*dto.Metric) error }).Write(&d); err == nil {
				v := d.GetCounter().GetValue()
				if r != resCanceled {
					s.ops += v
				}
				if r == resError {
					s.errs += v
				}
			}
		}
		var d dto.Metric
		if w, ok := m.distLat[o].(interface{ Write(*dto.Metric) error }); ok && w.Write(&d) == nil {
			h := d.GetHistogram()
			s.count += float64(h.GetSampleCount())
			for i, b := range h.GetBucket() {
				if i < len(s.buckets) {
					s.buckets[i] += float64(b.GetCumulativeCount())
				}
			}
		}
	}
	return s
}

// since returns the error rate and the p99 (upper bucket edge) of the
// operations between prev and s.
func (s histSnapshot) since(prev histSnapshot) (errRate float64, p99 time.Duration) {
	if ops := s.ops - prev.ops; ops > 0 {
		errRate = (s.errs - prev.errs) / ops
	}
	n := s.count - prev.count
	if n <= 0 {
		return errRate, 0
	}
	target := math.Ceil(0.99 * n)
	for i, edge := range latencyBuckets {
		c := s.buckets[i]
		if prev.buckets != nil {
			c -= prev.buckets[i]
		}
		if c >= target {
			return errRate, time.Duration(edge * float64(time.Second))
		}
	}
	// Beyond the last edge: report the last edge as a floor.
	return errRate, time.Duration(latencyBuckets[len(latencyBuckets)-1] * float64(time.Second))
}

// counterValue reads a counter's current value.
func counterValue(c prometheus.Counter) float64 {
	var d dto.Metric
	if err := c.Write(&d); err != nil {
		return 0
	}
	return d.GetCounter().GetValue()
}
