package control

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// CheckTransition applies the stage-order rules to a move from cur to
// nextStage at nextPercent. It returns nil when the move is allowed, an
// error wrapping ErrInvalid when the target itself is malformed (unknown
// stage, bad percent, a percent the stage does not take; see [PercentFor]),
// and an error wrapping ErrRefused, naming the rule and the way out, when
// the move breaks a rule:
//
//   - forward moves go one stage at a time: local → shadow → dual → ramp →
//     complete (ramp is entered from dual only);
//   - complete is entered from ramp at 100% only;
//   - forward moves (a later stage, or a higher ramp percent) are refused
//     while the state is rolled back: resume first;
//   - leaving complete is refused: reads would go to local sessions that
//     missed every write since complete;
//   - any backward move, and staying where one is, is allowed.
//
// force lifts every refusal, never an ErrInvalid. Reaching complete is also
// gated by a clean diff and the drain window, which need Redis: use
// [Client.CheckTransition] for the full check.
func CheckTransition(cur State, nextStage string, nextPercent float64, force bool) error {
	if err := validateStagePercent("", nextStage, nextPercent); err != nil {
		return invalid("target: %v", err)
	}
	cr, nr := stageRank(cur.Stage), stageRank(nextStage)
	if cr < 0 {
		return invalid("current stage %q is unknown", cur.Stage)
	}
	if force || (nextStage == cur.Stage && nextPercent == cur.Percent) {
		return nil
	}
	if cur.Stage == StageComplete {
		return refused("leaving complete would serve local sessions that missed every write since complete; use force if you accept that")
	}
	forward := nr > cr || (nr == cr && nextPercent > cur.Percent)
	if !forward {
		return nil
	}
	if r := cur.Rollback; r != nil {
		return refused("the state is rolled back (%s at %s): run resume first, or use force", rollbackCause(r), r.At.Format(time.RFC3339))
	}
	if nr > cr+1 {
		return refused("cannot move from %s to %s: the next stage is %s (forward moves go one stage at a time; use force to skip)", cur.Stage, nextStage, stageOrder[cr+1])
	}
	if nextStage == StageComplete && cur.Percent < 100 {
		return refused("complete needs ramp at 100%% first, the state is ramp %g%%; use force to skip", cur.Percent)
	}
	return nil
}

// rollbackCause describes who or what rolled back, for messages.
func rollbackCause(r *RollbackInfo) string {
	switch {
	case r.Automatic && r.Instance != "":
		return fmt.Sprintf("guard %s on %s: %s", r.Signal, r.Instance, r.Reason)
	case r.Automatic:
		return fmt.Sprintf("guard %s: %s", r.Signal, r.Reason)
	default:
		return "manual: " + r.Reason
	}
}

// CheckTransition runs the stage-order rules of the package-level
// [CheckTransition] and, for a move to complete without force, the gates
// that need Redis:
//
//   - the last diff ([Client.LastDiff]) must be clean, cover every
//     instance that took part (not partial), have been taken at ramp 100%
//     under the current state (its epoch: no change since it was
//     requested), and every instance live now must have taken part;
//   - with Options.DrainWindow set, the state must have been ramp 100% for
//     at least that long.
//
// Errors wrap ErrInvalid or ErrRefused as for the package-level function, or
// report that Redis could not be read.
func (c *Client) CheckTransition(ctx context.Context, cur State, nextStage string, nextPercent float64, force bool) error {
	if err := CheckTransition(cur, nextStage, nextPercent, force); err != nil {
		return err
	}
	if force || nextStage != StageComplete || cur.Stage == StageComplete {
		return nil
	}
	d, found, err := c.LastDiff(ctx)
	if err != nil {
		return fmt.Errorf("control: check transition: %w", err)
	}
	if err := c.checkDiff(ctx, cur, d, found); err != nil {
		return err
	}
	if w := c.opts.DrainWindow; w > 0 {
		if in := c.now().Sub(cur.Time); in < w {
			return refused("the drain window has not passed: ramp 100%% for %s of %s (%s left), or use force",
				in.Round(time.Second), w, (w - in).Round(time.Second))
		}
	}
	return nil
}

// checkDiff applies the clean-diff gate of complete to the last diff d.
func (c *Client) checkDiff(ctx context.Context, cur State, d DiffResult, found bool) error {
	at := func() string { return d.At.Format(time.RFC3339) }
	switch {
	case !found:
		return refused("no diff has been recorded: run a full diff at ramp 100%% (migratectl diff --wait) before complete, or use force")
	case d.Partial:
		return refused("the last diff (%s) is partial: %s; diff again, or use force", at(), d.Incomplete)
	case !d.Clean:
		return refused("the last diff (%s) found %d missing, %d mismatched and %d extra sessions: repair and diff again, or use force",
			at(), d.Missing, d.Mismatched, d.Extra)
	case d.Stage != StageRamp || d.Percent != 100:
		return refused("the last diff (%s) was taken at %s %g%%, not at ramp 100%%: diff again, or use force", at(), d.Stage, d.Percent)
	case d.Epoch != cur.Epoch || d.At.Before(cur.Time):
		return refused("the last diff (%s, epoch %d) predates the current state (%s since %s): diff again, or use force",
			at(), d.Epoch, cur, cur.Time.Format(time.RFC3339))
	}
	live, err := c.Instances(ctx)
	if err != nil {
		return fmt.Errorf("control: check transition: %w", err)
	}
	var missed []string
	for _, hb := range live {
		if !slices.Contains(d.Participants, hb.InstanceID) {
			missed = append(missed, hb.InstanceID)
		}
	}
	if len(missed) > 0 {
		return refused("instance %s did not take part in the last diff (%s): its local sessions were not compared; diff again, or use force",
			strings.Join(missed, ", "), at())
	}
	return nil
}
