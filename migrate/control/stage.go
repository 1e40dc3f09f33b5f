package control

import "slices"

// Stage names, in migration order. They are untyped string constants so that
// they convert to the Migrator's own Stage type without a conversion.
const (
	// StageLocal serves and writes sessions from the process-local store only.
	StageLocal = "local"
	// StageShadow serves from local and copies writes to Redis asynchronously.
	StageShadow = "shadow"
	// StageDual serves from local and writes both stores synchronously.
	StageDual = "dual"
	// StageRamp serves Percent of sessions from Redis and writes both stores.
	StageRamp = "ramp"
	// StageComplete serves and writes Redis only; dual writes have ended.
	StageComplete = "complete"
)

// Flag keys served by [Provider]. The Migrator evaluates all five:
// FlagStage and FlagPercent say what to route, FlagForce lets it leave
// complete, FlagEpoch and FlagTripped let an operator's resume release a
// guard trip.
const (
	// FlagStage is a string flag holding one of the stage names.
	FlagStage = "session-migration-stage"
	// FlagPercent is a float flag: the share of sessions read from Redis,
	// 0..100 with at most two decimals.
	FlagPercent = "session-migration-percent"
	// FlagEpoch is an integer flag: the epoch of the state being served.
	FlagEpoch = "session-migration-epoch"
	// FlagTripped is a boolean flag: true while the state carries a rollback
	// that no operator has resumed yet.
	FlagTripped = "session-migration-tripped"
	// FlagForce is a boolean flag: true when the state being served was
	// written with force (State.Force). The Migrator leaves complete only
	// while it is true.
	FlagForce = "session-migration-force"
)

// stageOrder lists the stages in migration order; the index is the rank.
var stageOrder = [...]string{StageLocal, StageShadow, StageDual, StageRamp, StageComplete}

// Stages returns the stage names in migration order. The slice is a fresh
// copy the caller may modify.
func Stages() []string {
	return slices.Clone(stageOrder[:])
}

// ValidStage reports whether s is one of the stage names.
func ValidStage(s string) bool {
	return stageRank(s) >= 0
}

// stageRank returns the position of s in the migration order, or -1.
func stageRank(s string) int {
	return slices.Index(stageOrder[:], s)
}

// PercentFor returns the percent a state at stage must carry: ramp keeps
// rampPercent, complete is 100 and every earlier stage 0. Percent is the
// share of sessions read from Redis, so it is fixed by every stage but ramp.
func PercentFor(stage string, rampPercent float64) float64 {
	switch stage {
	case StageRamp:
		return rampPercent
	case StageComplete:
		return 100
	default:
		return 0
	}
}
