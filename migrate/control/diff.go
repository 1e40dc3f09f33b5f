package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// DiffKinds are the mismatch kinds a diff counts, in report order; they
// are consistency's kinds (missing, stale, extra, data, expiry).
var DiffKinds = [...]string{"missing", "stale", "extra", "data", "expiry"}

// DiffResult summarises a full consistency diff between the local stores
// and the distributed store. The newest one gates the move to complete
// (see [Client.CheckTransition]); the diff job writes it, and the whole
// report stays with the job ([JobEnd.Result]).
type DiffResult struct {
	// At is when the diff finished; SetLastDiff fills a zero At from the
	// clock.
	At time.Time `json:"at"`
	// Epoch, Stage and Percent are the state the diff ran under (the state
	// when it was requested).
	Epoch   uint64  `json:"epoch"`
	Stage   string  `json:"stage,omitempty"`
	Percent float64 `json:"percent"`
	// Clean is true when the diff covered every instance that took part
	// and found no mismatch of any kind.
	Clean bool `json:"clean"`
	// Partial is true when the diff did not cover every instance that took
	// part (one left, or it was canceled); Incomplete says why.
	Partial    bool   `json:"partial,omitempty"`
	Incomplete string `json:"incomplete,omitempty"`
	// Checked is the number of sessions compared.
	Checked int64 `json:"checked"`
	// Missing counts sessions live in a local store but absent from Redis.
	Missing int64 `json:"missing"`
	// Mismatched counts sessions whose Redis copy is stale or differs in
	// data or expiry.
	Mismatched int64 `json:"mismatched"`
	// Extra counts sessions Redis serves that no local store holds (a
	// deleted session come back, or the idle session of an instance that
	// left).
	Extra int64 `json:"extra"`
	// Kinds counts the confirmed mismatches by kind (DiffKinds).
	Kinds map[string]int64 `json:"kinds,omitempty"`
	// Instances is the number of instances whose local stores were compared;
	// Participants names them.
	Instances    int      `json:"instances"`
	Participants []string `json:"participants,omitempty"`
	// Job is the diff job that produced it.
	Job string `json:"job,omitempty"`
	// Actor is who asked for the diff.
	Actor string `json:"actor,omitempty"`
}

// validate checks that the counts are consistent with Clean.
func (d DiffResult) validate() error {
	if d.Checked < 0 || d.Missing < 0 || d.Mismatched < 0 || d.Extra < 0 || d.Instances < 0 {
		return errors.New("negative count")
	}
	for k, n := range d.Kinds {
		if !slices.Contains(DiffKinds[:], k) || n < 0 {
			return fmt.Errorf("kind %q counts %d", k, n)
		}
	}
	if d.Job != "" && !ValidJobID(d.Job) {
		return fmt.Errorf("job %q is not a job id", d.Job)
	}
	if d.Clean && (d.Missing > 0 || d.Mismatched > 0 || d.Extra > 0 || d.Partial) {
		return fmt.Errorf("marked clean with %d missing, %d mismatched and %d extra (partial %v)", d.Missing, d.Mismatched, d.Extra, d.Partial)
	}
	return nil
}

// SetLastDiff records d as the newest diff result, replacing the previous
// one. A zero d.At is set from the clock. Inconsistent counts (negative, or
// Clean with mismatches, or Clean and Partial) return ErrInvalid.
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
	d, err = decodeDiff(b)
	if err != nil {
		return DiffResult{}, false, fmt.Errorf("control: last diff: %w", err)
	}
	return d, true, nil
}

// decodeDiff parses a stored diff result. Failures wrap ErrCorruptState.
func decodeDiff(b []byte) (DiffResult, error) {
	var d DiffResult
	if err := json.Unmarshal(b, &d); err != nil {
		return DiffResult{}, fmt.Errorf("%w: %v", ErrCorruptState, err)
	}
	if err := d.validate(); err != nil {
		return DiffResult{}, fmt.Errorf("%w: %v", ErrCorruptState, err)
	}
	return d, nil
}
