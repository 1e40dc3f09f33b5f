package migrate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// ErrRefused is wrapped by SetStage when the Migrator refuses a transition
// (see checkTransition). A refusal from the flags is not an error of any
// call: it shows in State().FlagError.
var ErrRefused = errors.New("migrate: transition refused")

// Reasons a transition is refused: the values of the reason label of
// sessionmigrate_flag_refused_total.
const (
	refuseEnterComplete   = "enter_complete"      // complete not from ramp 100
	refuseCompleteTripped = "complete_tripped"    // complete while a guard trip is latched
	refuseLeaveComplete   = "leave_complete"      // leaving complete without FlagForce
	refuseOverflowed      = "unsynced_overflowed" // complete while untracked writes await reconciliation
)

// refuseReasons lists every reason, for pre-created metric series.
var refuseReasons = []string{refuseEnterComplete, refuseCompleteTripped, refuseLeaveComplete, refuseOverflowed}

// guardrails is what checkTransition needs beyond the two states.
type guardrails struct {
	force      bool // FlagForce
	tripped    bool // a guard trip is latched
	overflowed bool // router.Core.Overflowed: writes Redis may lack are not tracked
}

// refusal is why the Migrator refuses the state it is asked for.
type refusal struct {
	reason string // one of the refuse* constants
	msg    string
}

// checkTransition returns why the Migrator refuses to move from cur (the
// state it accepted last) to next, or nil. The rules protect data, whatever
// drives the flags:
//
//   - complete is entered only from ramp 100: before it, sessions not yet in
//     Redis live in local alone, and complete stops reading local;
//   - not while a guard trip is latched: the trip's rollback would be undone
//     by moving routing forward;
//   - not while the unsynced set overflowed: writes Redis may lack are
//     known to the reconciliation pass only, and complete stops reading
//     local;
//   - complete is left only while FlagForce is true (force): complete wrote
//     Redis only, so what the stages before it serve from local missed
//     every write since.
//
// Any other move, forward or back, is allowed: every stage before complete
// keeps local whole and answers a local miss from Redis.
func checkTransition(cur, next desired, g guardrails) *refusal {
	switch {
	case next.stage == Complete && cur.stage != Complete:
		if cur.stage != Ramp || cur.percent != 100 {
			return &refusal{refuseEnterComplete, fmt.Sprintf(
				"refused complete: it is entered only from ramp 100%%, and %s is in effect (sessions not yet in Redis would be lost); keeping %s",
				describe(cur.stage, cur.percent), describe(cur.stage, cur.percent))}
		}
		if g.tripped {
			return &refusal{refuseCompleteTripped,
				"refused complete: a guard trip is latched (resume first); keeping the rollback's routing"}
		}
		if g.overflowed {
			return &refusal{refuseOverflowed,
				"refused complete: the unsynced set overflowed (MaxUnsynced) and writes Redis may lack await the reconciliation pass; keeping ramp 100%"}
		}
	case cur.stage == Complete && next.stage != Complete && !g.force:
		return &refusal{refuseLeaveComplete, fmt.Sprintf(
			"refused %s: leaving complete needs the flag %s true (local missed every write since complete); keeping complete",
			describe(next.stage, next.percent), FlagForce)}
	}
	return nil
}

// guardrails returns the Migrator's side of checkTransition. m.mu must be
// held.
func (m *Migrator) guardrails(force bool) guardrails {
	return guardrails{force: force, tripped: m.trip != nil, overflowed: m.core.Overflowed()}
}

// describe names a stage and, for ramp, its percentage.
func describe(s Stage, percent float64) string {
	if s == Ramp {
		return fmt.Sprintf("ramp %g%%", percent)
	}
	return string(s)
}

// SetStage sets the desired stage and percentage directly, as a flag change
// would, with the same rules: a transition the Migrator refuses
// (entering complete other than from ramp 100, or while a guard trip is
// latched; leaving complete) returns an error wrapping ErrRefused and
// changes nothing. Applications that follow flags do not need it; the next
// flag evaluation replaces what it set.
func (m *Migrator) SetStage(stage Stage, percent float64) error {
	return m.setStage(stage, percent, false)
}

// ForceStage is SetStage with FlagForce true: it may leave complete. It
// cannot enter complete other than from ramp 100.
func (m *Migrator) ForceStage(stage Stage, percent float64) error {
	return m.setStage(stage, percent, true)
}

func (m *Migrator) setStage(stage Stage, percent float64, force bool) error {
	if !stage.Valid() {
		return fmt.Errorf("migrate: unknown stage %q (allowed: local, shadow, dual, ramp, complete)", stage)
	}
	if err := checkPercent(percent); err != nil {
		return err
	}
	if m.closed.Load() {
		return ErrClosed
	}
	m.mu.Lock()
	next := m.desired
	next.stage, next.percent = stage, percent
	ref := checkTransition(m.desired, next, m.guardrails(force))
	m.mu.Unlock()
	if ref != nil {
		return fmt.Errorf("%w: %s", ErrRefused, ref.msg)
	}
	if err := m.leavingComplete(stage); err != nil {
		return err
	}
	var logs logLines
	m.mu.Lock()
	next = m.desired
	next.stage, next.percent = stage, percent
	if ref = checkTransition(m.desired, next, m.guardrails(force)); ref == nil {
		m.desired = next
	}
	err := m.applyLocked(&logs)
	m.mu.Unlock()
	logs.emit(m.opts.Logger)
	if ref != nil {
		return fmt.Errorf("%w: %s", ErrRefused, ref.msg)
	}
	return err
}

// logLine is a log record decided under m.mu and written after it is
// released: the injected logger never runs under a Migrator lock.
type logLine struct {
	level slog.Level
	msg   string
	args  []any
}

type logLines []logLine

func (l *logLines) add(level slog.Level, msg string, args ...any) {
	*l = append(*l, logLine{level: level, msg: msg, args: args})
}

// emit writes the lines; no lock may be held.
func (l logLines) emit(log *slog.Logger) {
	for _, ln := range l {
		log.Log(context.Background(), ln.level, ln.msg, ln.args...)
	}
}
