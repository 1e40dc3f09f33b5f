package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// maxStateBytes bounds the encoded state so that a runaway evidence map
// cannot turn the one key every instance reads into a large value.
const maxStateBytes = 64 << 10

// State is the desired migration state, stored as JSON in one Redis key.
//
// The zero value is not valid; the state of a fresh installation (no key) is
// stage local, percent 0, epoch 0, as returned by [Client.State].
type State struct {
	// Stage is one of StageLocal, StageShadow, StageDual, StageRamp,
	// StageComplete.
	Stage string `json:"stage"`
	// Percent is the share of sessions read from Redis, 0..100 with at most
	// two decimals. It is 0 before ramp, 100 at complete and free at ramp
	// (see [PercentFor]).
	Percent float64 `json:"percent"`
	// Epoch counts changes: every write adds exactly one. Instances never
	// go back to a lower epoch than one they have applied.
	Epoch uint64 `json:"epoch"`
	// Actor is who made the change (operator, "guard@instance", ...).
	Actor string `json:"actor,omitempty"`
	// Reason is why the change was made.
	Reason string `json:"reason,omitempty"`
	// Time is when the change was written, set by the writer's clock.
	Time time.Time `json:"time,omitzero"`
	// Rollback is set while the state is rolled back and not yet resumed.
	Rollback *RollbackInfo `json:"rollback,omitempty"`
	// Force is true when this state was written with force
	// ([Client.UpdateForced], [RollbackRequest.Force]); every other write
	// clears it. The provider serves it as FlagForce: the Migrator leaves
	// complete only while it is true.
	Force bool `json:"force,omitempty"`
}

// RollbackInfo records a rollback until an operator resumes.
type RollbackInfo struct {
	// Automatic is true when the guard of an instance rolled back, false when
	// an operator did.
	Automatic bool `json:"automatic"`
	// Signal names the guard signal that tripped ("consecutive_failures",
	// "error_rate", "latency", "availability", "inconsistency", ...); empty
	// for a manual rollback.
	Signal string `json:"signal,omitempty"`
	// Reason says why, in words an operator can act on.
	Reason string `json:"reason"`
	// Evidence holds the measurements behind the decision, formatted by the
	// reporter ("error_rate": "0.034", "p99": "63ms", ...).
	Evidence map[string]string `json:"evidence,omitempty"`
	// Instance is the instance whose guard tripped, or empty.
	Instance string `json:"instance,omitempty"`
	// FromStage and FromPercent are what was in effect before the rollback;
	// [Client.Resume] restores them.
	FromStage   string  `json:"from_stage"`
	FromPercent float64 `json:"from_percent"`
	// At is when the rollback was written.
	At time.Time `json:"at,omitzero"`
}

// Tripped reports whether s carries a rollback that was not resumed.
func (s State) Tripped() bool { return s.Rollback != nil }

// initialState is the state of an installation whose state key is missing.
func initialState() State { return State{Stage: StageLocal} }

// String returns a short human form such as "ramp 12.5% (epoch 7)".
func (s State) String() string {
	var b strings.Builder
	b.WriteString(s.Stage)
	if s.Stage == StageRamp {
		fmt.Fprintf(&b, " %g%%", s.Percent)
	}
	fmt.Fprintf(&b, " (epoch %d)", s.Epoch)
	if s.Tripped() {
		b.WriteString(" rolled back")
	}
	return b.String()
}

// validate reports the first thing wrong with s, in words for an operator.
func (s State) validate() error {
	if err := validateStagePercent("", s.Stage, s.Percent); err != nil {
		return err
	}
	if r := s.Rollback; r != nil {
		if err := validateStagePercent("rollback from_", r.FromStage, r.FromPercent); err != nil {
			return err
		}
		if r.Reason == "" {
			return errors.New("rollback reason is empty")
		}
	}
	return nil
}

// validateStagePercent checks one stage/percent pair; field prefixes the
// field names in the message.
func validateStagePercent(field, stage string, percent float64) error {
	if stage == "" {
		return fmt.Errorf("%sstage is missing", field)
	}
	if !ValidStage(stage) {
		return fmt.Errorf("%sstage %q is not one of %s", field, stage, strings.Join(stageOrder[:], ", "))
	}
	if err := validatePercent(percent); err != nil {
		return fmt.Errorf("%spercent: %w", field, err)
	}
	if want := PercentFor(stage, percent); percent != want {
		return fmt.Errorf("%spercent is %g, but stage %s takes %g (percent is free at ramp only)", field, percent, stage, want)
	}
	return nil
}

// validatePercent checks 0 <= p <= 100 with at most two decimals.
func validatePercent(p float64) error {
	if math.IsNaN(p) || math.IsInf(p, 0) || p < 0 || p > 100 {
		return fmt.Errorf("%g is outside 0..100", p)
	}
	if c := p * 100; math.Abs(c-math.Round(c)) > 1e-6 {
		return fmt.Errorf("%g has more than two decimals (resolution is 0.01%%)", p)
	}
	return nil
}

// encodeState validates s and returns its JSON.
func encodeState(s State) ([]byte, error) {
	if err := s.validate(); err != nil {
		return nil, invalid("state: %v", err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, invalid("state: %v", err)
	}
	if len(b) > maxStateBytes {
		return nil, invalid("state: encoded size %d bytes exceeds %d (trim the rollback evidence)", len(b), maxStateBytes)
	}
	return b, nil
}

// decodeState parses a stored state. Every failure wraps ErrCorruptState and
// says what is wrong.
func decodeState(b []byte) (State, error) {
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return State{}, fmt.Errorf("%w: not a JSON state: %v", ErrCorruptState, err)
	}
	if err := s.validate(); err != nil {
		return State{}, fmt.Errorf("%w: %v (epoch %d)", ErrCorruptState, err, s.Epoch)
	}
	return s, nil
}
