package control

import (
	"context"
	"maps"
)

// RollbackRequest asks for a rollback. Only Reason is required.
type RollbackRequest struct {
	// To is the stage to roll back to: StageLocal, StageShadow or StageDual.
	// Default StageShadow: reads from local, distributed writes async.
	To string
	// Automatic is true when an instance's guard requests the rollback.
	Automatic bool
	// Signal names the guard signal that tripped; empty for a manual rollback.
	Signal string
	// Reason says why; required.
	Reason string
	// Evidence holds the measurements behind the decision. It is copied.
	Evidence map[string]string
	// Instance is the requesting instance, if any.
	Instance string
	// Actor is who asks ("guard@<instance>", an operator's name).
	Actor string
	// Force allows rolling back from complete, which serves local sessions
	// that missed every write made since complete.
	Force bool
}

// Rollback moves the state back to req.To (or keeps an earlier stage) and
// records the rollback, so instances latch it and operators see it until
// [Client.Resume]. The change is audited as [KindRollback].
//
// Rollback is idempotent: when the state already carries a rollback and is
// at req.To or earlier, it returns the current state and a nil error without
// writing, whichever trip rolled it back. That is what makes every instance's
// guard, tripping on the same incident, safe to report. A rollback on top of
// a rollback to a later stage moves further back and keeps the original
// FromStage and FromPercent, so Resume restores what was in effect before the
// incident.
//
// From complete, Rollback is refused (ErrRefused) unless req.Force is set.
// An invalid request returns ErrInvalid.
func (c *Client) Rollback(ctx context.Context, req RollbackRequest) (State, error) {
	if req.To == "" {
		req.To = StageShadow
	}
	switch req.To {
	case StageLocal, StageShadow, StageDual:
	default:
		return State{}, invalid("rollback: target stage %q is not local, shadow or dual", req.To)
	}
	if req.Reason == "" {
		return State{}, invalid("rollback: reason is empty")
	}
	return c.apply(ctx, "rollback", audit{kind: KindRollback, force: req.Force}, func(cur State) (State, error) {
		if cur.Tripped() && stageRank(cur.Stage) <= stageRank(req.To) {
			return State{}, ErrNoChange
		}
		if cur.Stage == StageComplete && !req.Force {
			return State{}, refused("rollback from complete serves local sessions that missed every write since complete; use force to roll back anyway")
		}
		info := RollbackInfo{
			Automatic:   req.Automatic,
			Signal:      req.Signal,
			Reason:      req.Reason,
			Evidence:    maps.Clone(req.Evidence),
			Instance:    req.Instance,
			FromStage:   cur.Stage,
			FromPercent: cur.Percent,
			At:          c.now(),
		}
		if cur.Tripped() {
			info.FromStage, info.FromPercent = cur.Rollback.FromStage, cur.Rollback.FromPercent
		}
		next := cur
		if stageRank(cur.Stage) > stageRank(req.To) {
			next.Stage, next.Percent = req.To, 0
		}
		next.Rollback = &info
		next.Actor, next.Reason = req.Actor, req.Reason
		return next, nil
	})
}

// Resume ends a rollback: it restores the stage and percent recorded when
// the state was rolled back and clears the rollback, audited as
// [KindResume]. It returns an error wrapping ErrRefused when the state is
// not rolled back (another operator may have resumed already).
func (c *Client) Resume(ctx context.Context, actor, reason string) (State, error) {
	return c.apply(ctx, "resume", audit{kind: KindResume}, func(cur State) (State, error) {
		if !cur.Tripped() {
			return State{}, refused("nothing to resume: the state (%s) is not rolled back", cur)
		}
		next := cur
		next.Stage, next.Percent = cur.Rollback.FromStage, cur.Rollback.FromPercent
		next.Rollback = nil
		next.Actor, next.Reason = actor, reason
		return next, nil
	})
}
