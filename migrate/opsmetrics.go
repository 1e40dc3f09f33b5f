package migrate

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// jobKinds are the kinds of control-plane jobs, the fixed label set of the
// job gauges.
var jobKinds = []control.JobKind{control.JobBackfill, control.JobDiff, control.JobRepair}

// jobGauges is this instance's part of the newest job of each kind, as the
// on-call dashboard shows it (runbooks/dashboard.json): the job runner
// records into it, the ops collector reads it at scrape time. The zero value
// is ready to use; it is safe for concurrent use.
type jobGauges struct {
	mu    sync.Mutex
	parts map[control.JobKind]jobGauge
}

type jobGauge struct {
	running     int // parts of this kind running (0 or 1: one job of a kind at a time)
	done, total int64
}

// start marks a part of kind as running, its progress reset, and returns
// the function that marks it over (its last progress stays shown).
func (g *jobGauges) start(kind control.JobKind) func() {
	g.edit(kind, func(j *jobGauge) { j.running++; j.done, j.total = 0, 0 })
	return func() { g.edit(kind, func(j *jobGauge) { j.running-- }) }
}

// progress records a part's done and total.
func (g *jobGauges) progress(kind control.JobKind, done, total int64) {
	g.edit(kind, func(j *jobGauge) { j.done, j.total = done, total })
}

func (g *jobGauges) edit(kind control.JobKind, fn func(*jobGauge)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.parts == nil {
		g.parts = map[control.JobKind]jobGauge{}
	}
	j := g.parts[kind]
	fn(&j)
	g.parts[kind] = j
}

func (g *jobGauges) get(kind control.JobKind) jobGauge {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.parts[kind]
}

// opsCollector exports, at scrape time, what alerts and dashboards need
// beside the request-path metrics: the control-plane epoch this instance
// applies (an instance behind the rest of its fleet has not converged) and
// the progress of its part of each kind of job.
type opsCollector struct {
	m                             *Migrator
	epoch, running, done, planned *prometheus.Desc
}

func newOpsCollector(m *Migrator) opsCollector {
	kind := []string{"kind"}
	return opsCollector{
		m: m,
		epoch: prometheus.NewDesc("sessionmigrate_applied_epoch",
			"Control-plane epoch of the state this instance applies (0 when the flag provider serves none).", nil, nil),
		running: prometheus.NewDesc("sessionmigrate_job_running",
			"1 while this instance runs its part of a job of this kind (backfill, diff, repair).", kind, nil),
		done: prometheus.NewDesc("sessionmigrate_job_done_sessions",
			"Sessions this instance's part of the newest job of this kind has handled.", kind, nil),
		planned: prometheus.NewDesc("sessionmigrate_job_planned_sessions",
			"Sessions this instance's part of the newest job of this kind has to handle (its local sessions).", kind, nil),
	}
}

func (c opsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.epoch
	ch <- c.running
	ch <- c.done
	ch <- c.planned
}

func (c opsCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.epoch, prometheus.GaugeValue, float64(c.m.State().Epoch))
	for _, k := range jobKinds {
		j := c.m.jobGauges.get(k)
		ch <- prometheus.MustNewConstMetric(c.running, prometheus.GaugeValue, float64(j.running), string(k))
		ch <- prometheus.MustNewConstMetric(c.done, prometheus.GaugeValue, float64(j.done), string(k))
		ch <- prometheus.MustNewConstMetric(c.planned, prometheus.GaugeValue, float64(j.total), string(k))
	}
}
