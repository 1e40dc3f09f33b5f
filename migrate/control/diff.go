package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// DiffResult summarises a full consistency diff between the local and the
// distributed stores. The newest one gates the move to complete.
type DiffResult struct {
	// At is when the diff finished; SetLastDiff fills a zero At from the
	// clock.
	At time.Time `json:"at"`
	// Epoch is the state epoch the diff ran under.
	Epoch uint64 `json:"epoch"`
	// Clean is true when no session was missing or different in Redis.
	Clean bool `json:"clean"`
	// Checked is the number of sessions compared.
	Checked int64 `json:"checked"`
	// Missing counts sessions live in local but absent from Redis.
	Missing int64 `json:"missing"`
	// Mismatched counts sessions whose data or expiry differ.
	Mismatched int64 `json:"mismatched"`
	// Extra counts sessions in Redis but not in local (not a problem in
	// itself: other instances' sessions, or sessions deleted meanwhile).
	Extra int64 `json:"extra"`
	// Instances is the number of instances whose local stores were compared.
	Instances int `json:"instances"`
	// Actor is who ran the diff.
	Actor string `json:"actor,omitempty"`
}

// validate checks that the counts are consistent with Clean.
func (d DiffResult) validate() error {
	if d.Checked < 0 || d.Missing < 0 || d.Mismatched < 0 || d.Extra < 0 || d.Instances < 0 {
		return errors.New("negative count")
	}
	if d.Clean && (d.Missing > 0 || d.Mismatched > 0) {
		return fmt.Errorf("marked clean with %d missing and %d mismatched", d.Missing, d.Mismatched)
	}
	return nil
}

// SetLastDiff records d as the newest diff result, replacing the previous
// one. A zero d.At is set from the clock. Inconsistent counts (negative, or
// Clean with missing or mismatched sessions) return ErrInvalid.
func (c *Client) SetLastDiff(ctx context.Context, d DiffResult) error {
	if err := d.validate(); err != nil {
		return fmt.Errorf("control: set last diff: %w", invalid("%v", err))
	}
	if d.At.IsZero() {
		d.At = c.now()
	}
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("control: set last diff: %w", err)
	}
	if err := c.rdb.Set(ctx, c.keys.lastDiff, b, 0).Err(); err != nil {
		return fmt.Errorf("control: set last diff: %w", err)
	}
	return nil
}

// LastDiff returns the newest diff result; found is false when no diff was
// ever recorded. A stored record that cannot be decoded returns an error
// wrapping ErrCorruptState.
func (c *Client) LastDiff(ctx context.Context) (d DiffResult, found bool, err error) {
	b, err := c.rdb.Get(ctx, c.keys.lastDiff).Bytes()
	if errors.Is(err, redis.Nil) {
		return DiffResult{}, false, nil
	}
	if err != nil {
		return DiffResult{}, false, fmt.Errorf("control: last diff: %w", err)
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return DiffResult{}, false, fmt.Errorf("control: last diff: %w: %v", ErrCorruptState, err)
	}
	if err := d.validate(); err != nil {
		return DiffResult{}, false, fmt.Errorf("control: last diff: %w: %v", ErrCorruptState, err)
	}
	return d, true, nil
}
