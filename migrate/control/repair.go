package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Repair overwrites the state with next whatever is stored now: a corrupt
// value, a valid one, or nothing (a flushed or failed-over Redis). It is the
// way out of ErrCorruptState and of a lost state key, and is audited as
// [KindRepair].
//
// Instances never go back to an epoch lower than one they have applied, so
// Repair picks an epoch above every epoch it can find: the stored one (if
// the JSON still has it), the newest audit entry's, and each live instance's
// applied epoch; next.Epoch, if higher, is a floor the caller may raise
// (for instances whose heartbeats are gone). The written state has that
// epoch plus one. Validation of next failing returns ErrInvalid; a
// concurrent writer winning every attempt returns ErrConflict.
func (c *Client) Repair(ctx context.Context, next State) (State, error) {
	if _, err := encodeState(next); err != nil {
		return State{}, fmt.Errorf("control: repair: %w", err)
	}
	for attempt := range c.opts.ApplyRetries {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return State{}, fmt.Errorf("control: repair: %w", err)
			}
		}
		epoch, st, err := c.highestEpoch(ctx)
		if err != nil {
			return State{}, fmt.Errorf("control: repair: %w", err)
		}
		s, err := c.write(ctx, st, next, max(epoch, next.Epoch)+1, audit{kind: KindRepair})
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return State{}, fmt.Errorf("control: repair: %w", err)
		}
		return s, nil
	}
	return State{}, fmt.Errorf("control: repair: %w: gave up after %d attempts", ErrConflict, c.opts.ApplyRetries)
}

// highestEpoch returns the highest epoch recorded anywhere in the control
// plane, and the state key as read.
func (c *Client) highestEpoch(ctx context.Context) (uint64, stored, error) {
	st, err := c.read(ctx)
	if err != nil {
		return 0, stored{}, err
	}
	var epoch uint64
	if st.found {
		var partial struct {
			Epoch uint64 `json:"epoch"`
		}
		if json.Unmarshal(st.raw, &partial) == nil {
			epoch = partial.Epoch
		}
	}
	hist, err := c.History(ctx, 1)
	if err != nil {
		return 0, stored{}, err
	}
	for _, e := range hist {
		epoch = max(epoch, e.Epoch)
	}
	live, err := c.Instances(ctx)
	if err != nil {
		return 0, stored{}, err
	}
	for _, hb := range live {
		epoch = max(epoch, hb.Epoch)
	}
	return epoch, st, nil
}
