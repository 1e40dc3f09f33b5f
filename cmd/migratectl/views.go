package main

import (
	"fmt"
	"maps"
	"time"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// The types below are migratectl's machine-readable output (-o json and
// -o yaml use the same field names). They are part of its interface:
// fields may be added, never renamed or removed. doc.go lists them.

// stateView is a migration state.
type stateView struct {
	Stage   string  `json:"stage"`
	Percent float64 `json:"percent"`
	Epoch   uint64  `json:"epoch"`
	Actor   string  `json:"actor"`
	Reason  string  `json:"reason"`
	// Time is when the state was written; null for the initial state and
	// for the target of a dry run.
	Time     *time.Time    `json:"time"`
	Tripped  bool          `json:"tripped"`
	Rollback *rollbackView `json:"rollback"`
}

// rollbackView is the rollback a state carries until resumed.
type rollbackView struct {
	Automatic   bool              `json:"automatic"`
	Signal      string            `json:"signal"`
	Reason      string            `json:"reason"`
	Evidence    map[string]string `json:"evidence"`
	Instance    string            `json:"instance"`
	FromStage   string            `json:"from_stage"`
	FromPercent float64           `json:"from_percent"`
	At          *time.Time        `json:"at"`
}

func newStateView(s control.State) stateView {
	v := stateView{
		Stage:   s.Stage,
		Percent: s.Percent,
		Epoch:   s.Epoch,
		Actor:   s.Actor,
		Reason:  s.Reason,
		Time:    timePtr(s.Time),
		Tripped: s.Tripped(),
	}
	if r := s.Rollback; r != nil {
		v.Rollback = &rollbackView{
			Automatic:   r.Automatic,
			Signal:      r.Signal,
			Reason:      r.Reason,
			Evidence:    maps.Clone(r.Evidence),
			Instance:    r.Instance,
			FromStage:   r.FromStage,
			FromPercent: r.FromPercent,
			At:          timePtr(r.At),
		}
	}
	return v
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// instanceView is one live application instance.
type instanceView struct {
	ID      string  `json:"id"`
	Host    string  `json:"host"`
	Version string  `json:"version"`
	Stage   string  `json:"stage"`
	Percent float64 `json:"percent"`
	Epoch   uint64  `json:"epoch"`
	// Converged is true when the instance has applied the desired epoch.
	Converged      bool      `json:"converged"`
	LocalSessions  int       `json:"local_sessions"`
	DistErrorRate  float64   `json:"dist_error_rate"`
	DistP99Seconds float64   `json:"dist_p99_seconds"`
	GuardTripped   bool      `json:"guard_tripped"`
	GuardPaused    bool      `json:"guard_paused"`
	GuardReason    string    `json:"guard_reason"`
	LastStateError string    `json:"last_state_error"`
	LastSeen       time.Time `json:"last_seen"`
	// Unsynced is the instance's repair backlog; AsyncDropped the async
	// writes its full queue refused since it started.
	Unsynced     int    `json:"unsynced"`
	AsyncDropped uint64 `json:"async_dropped"`
	// LastDiffJob is the newest diff the instance took part in; InRedis
	// is how many of the local sessions it compared then Redis held, of
	// DiffChecked (null before its first diff).
	LastDiffJob string `json:"last_diff_job"`
	InRedis     *int64 `json:"in_redis"`
	DiffChecked *int64 `json:"diff_checked"`
}

func newInstanceViews(hbs []control.Heartbeat, desired uint64) []instanceView {
	out := make([]instanceView, 0, len(hbs))
	for _, hb := range hbs {
		out = append(out, instanceView{
			ID:             hb.InstanceID,
			Host:           hb.Host,
			Version:        hb.Version,
			Stage:          hb.Stage,
			Percent:        hb.Percent,
			Epoch:          hb.Epoch,
			Converged:      hb.Epoch == desired,
			LocalSessions:  hb.LocalSessions,
			DistErrorRate:  hb.DistErrorRate,
			DistP99Seconds: hb.DistP99.Seconds(),
			GuardTripped:   hb.Guard.Tripped,
			GuardPaused:    hb.Guard.Paused,
			GuardReason:    hb.Guard.Reason,
			LastStateError: hb.LastStateError,
			LastSeen:       hb.At,
			Unsynced:       hb.Unsynced,
			AsyncDropped:   hb.AsyncDropped,
		})
		if d := hb.LastDiff; d != nil {
			v := &out[len(out)-1]
			v.LastDiffJob, v.InRedis, v.DiffChecked = d.Job, &d.InDistributed, &d.Checked
		}
	}
	return out
}

// diffView is the newest full consistency diff.
type diffView struct {
	At         time.Time `json:"at"`
	Epoch      uint64    `json:"epoch"`
	Clean      bool      `json:"clean"`
	Checked    int64     `json:"checked"`
	Missing    int64     `json:"missing"`
	Mismatched int64     `json:"mismatched"`
	Extra      int64     `json:"extra"`
	Instances  int       `json:"instances"`
	Actor      string    `json:"actor"`
	// Kinds counts the mismatches by kind (missing, stale, extra, data,
	// expiry).
	Kinds        map[string]int64 `json:"kinds"`
	Job          string           `json:"job"`
	Stage        string           `json:"stage"`
	Percent      float64          `json:"percent"`
	Partial      bool             `json:"partial"`
	Incomplete   string           `json:"incomplete"`
	Participants []string         `json:"participants"`
}

func newDiffView(d control.DiffResult) *diffView {
	v := &diffView{
		At: d.At, Epoch: d.Epoch, Clean: d.Clean, Checked: d.Checked, Missing: d.Missing,
		Mismatched: d.Mismatched, Extra: d.Extra, Instances: d.Instances, Actor: d.Actor,
		Kinds: map[string]int64{}, Job: d.Job, Stage: d.Stage, Percent: d.Percent, Partial: d.Partial,
		Incomplete: d.Incomplete, Participants: d.Participants,
	}
	for _, k := range control.DiffKinds {
		v.Kinds[k] = d.Kinds[k]
	}
	if v.Participants == nil {
		v.Participants = []string{}
	}
	return v
}

// changeView is the result of a change command (stage, ramp, rollback,
// resume), real or dry run.
type changeView struct {
	Command string `json:"command"`
	DryRun  bool   `json:"dry_run"`
	// Changed is true when the state was written: false for a dry run and
	// for a change that was already in effect.
	Changed bool      `json:"changed"`
	From    stateView `json:"from"`
	To      stateView `json:"to"`
}

// describe returns a short human form of a state: "ramp 12.5%", "dual",
// with " [rolled back]" while tripped.
func describe(s control.State) string {
	out := s.Stage
	if s.Stage == control.StageRamp {
		out = fmt.Sprintf("ramp %g%%", s.Percent)
	}
	if s.Tripped() {
		out += " [rolled back]"
	}
	return out
}

// when formats a time for tables; empty for the zero time.
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
