package migrate

import (
	"fmt"
	"strings"
)

// Stage is a step of the migration. See the package documentation for what
// each stage reads and writes.
type Stage string

// The stages, in migration order.
const (
	Local    Stage = "local"
	Shadow   Stage = "shadow"
	Dual     Stage = "dual"
	Ramp     Stage = "ramp"
	Complete Stage = "complete"
)

// The OpenFeature flags the Migrator follows.
const (
	// FlagStage is a string flag holding a Stage name.
	FlagStage = "session-migration-stage"
	// FlagPercent is a number flag (read with FloatValue): the ramp
	// percentage, 0..100 with at most 2 decimals.
	FlagPercent = "session-migration-percent"
	// FlagForce is a boolean flag: while it is true the Migrator may leave
	// complete (see the package documentation, "What the Migrator
	// refuses"). Missing or unreadable, it is false. migratectl's --force
	// sets it through the control plane for the change it makes.
	FlagForce = "session-migration-force"
	// FlagEpoch is an optional integer flag: the control plane's state
	// epoch. With FlagTripped it lets an operator's resume release a guard
	// trip (see Migrator.Resume).
	FlagEpoch = "session-migration-epoch"
	// FlagTripped is an optional boolean flag: true while the control plane
	// records a rollback.
	FlagTripped = "session-migration-tripped"
)

// Stages lists every stage in migration order.
var Stages = []Stage{Local, Shadow, Dual, Ramp, Complete}

// ParseStage returns the Stage named s (case-insensitive, surrounding space
// ignored) or an error naming the allowed values.
func ParseStage(s string) (Stage, error) {
	st := Stage(strings.ToLower(strings.TrimSpace(s)))
	if st.Valid() {
		return st, nil
	}
	return "", fmt.Errorf("migrate: unknown stage %q (allowed: local, shadow, dual, ramp, complete)", s)
}

// Valid reports whether s is one of the five stages.
func (s Stage) Valid() bool {
	switch s {
	case Local, Shadow, Dual, Ramp, Complete:
		return true
	}
	return false
}

// String returns the stage name.
func (s Stage) String() string { return string(s) }

// Index returns the position of s in migration order (local = 0), or -1.
func (s Stage) Index() int {
	for i, st := range Stages {
		if st == s {
			return i
		}
	}
	return -1
}
