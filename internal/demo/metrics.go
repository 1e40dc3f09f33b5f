package demo

import (
	dto "github.com/prometheus/client_model/go"
)

// metricSet holds the Migrators' Prometheus samples of every instance, by
// metric name, as an operator's dashboard would aggregate them.
type metricSet map[string][]*dto.Metric

// gather reads every instance's registry. A registry that cannot be read
// contributes nothing: the narration then shows zeros, never fails.
func gather(insts []*instance) metricSet {
	s := metricSet{}
	for _, in := range insts {
		families, _ := in.reg.Gather()
		for _, f := range families {
			s[f.GetName()] = append(s[f.GetName()], f.GetMetric()...)
		}
	}
	return s
}

// sum adds up the samples of name whose labels match every name/value pair
// in labels, over all instances.
func (s metricSet) sum(name string, labels ...string) float64 {
	total := 0.0
	for _, m := range s[name] {
		if matches(m, labels) {
			total += value(m)
		}
	}
	return total
}

func matches(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	}
	return 0
}

// delta is the change of metric sums between two gathers.
type delta struct{ before, after metricSet }

// of returns how much the sum of name (filtered by labels) grew.
func (d delta) of(name string, labels ...string) int64 {
	return int64(d.after.sum(name, labels...) - d.before.sum(name, labels...))
}
