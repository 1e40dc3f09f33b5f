package migrate

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sessionmigrate/sessionmigrate/migrate/guard"
)

// Status is the JSON document the admin handler serves at /status.
type Status struct {
	Stage          Stage           `json:"stage"`
	Percent        float64         `json:"percent"`
	DesiredStage   Stage           `json:"desired_stage"`
	DesiredPercent float64         `json:"desired_percent"`
	Epoch          uint64          `json:"epoch"`
	Since          time.Time       `json:"since"`
	Tripped        bool            `json:"tripped"`
	TripReason     string          `json:"trip_reason,omitempty"`
	Paused         bool            `json:"paused"`
	FlagError      string          `json:"flag_error,omitempty"`
	Unsynced       int             `json:"unsynced_sessions"`
	QueueDepth     int             `json:"async_queue_depth"`
	Guard          *guard.Scores   `json:"guard_scores,omitempty"`
	LastTrip       *guard.Evidence `json:"last_trip,omitempty"`
}

// Status returns the Migrator's state with its queues and guard scores.
func (m *Migrator) Status() Status {
	st := m.State()
	s := Status{
		Stage: st.Stage, Percent: st.Percent, DesiredStage: st.DesiredStage, DesiredPercent: st.DesiredPercent,
		Epoch: st.Epoch, Since: st.Since, Tripped: st.Tripped, TripReason: st.TripReason, FlagError: st.FlagError,
		Paused: m.Paused(), Unsynced: m.core.Unsynced(), QueueDepth: m.core.QueueDepth(),
	}
	if m.guard != nil {
		sc := m.guard.Scores()
		s.Guard = &sc
		if ev, ok := m.guard.LastTrip(); ok {
			s.LastTrip = &ev
		}
	}
	return s
}

// AdminHandler serves GET /metrics (Prometheus exposition from gatherer,
// normally the registry given as Options.Registerer) and GET /status (the
// Status as JSON). It exposes no session data and changes nothing: resume
// and stage changes go through the control plane. Mount it on an internal
// listener only.
func (m *Migrator) AdminHandler(gatherer prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(m.Status())
	})
	return mux
}
