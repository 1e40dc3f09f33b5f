package control

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// AuditEntry is one change as recorded in the audit stream.
type AuditEntry struct {
	// ID is the Redis stream entry ID.
	ID string `json:"id"`
	// At is when Redis appended the entry (from the stream ID, millisecond
	// resolution, the Redis server's clock).
	At time.Time `json:"at"`
	// Kind is KindUpdate, KindRollback, KindResume, KindRepair or KindJob.
	Kind string `json:"kind"`
	// Epoch is the epoch the change wrote (for a job event, the epoch in
	// effect).
	Epoch uint64 `json:"epoch"`
	// State is the state written, with its actor, reason and rollback info
	// (zero for a job event).
	State State `json:"state"`
	// Force is true when the change was made with force (migratectl
	// --force): a guard rail was overridden, or could have been.
	Force bool `json:"force,omitempty"`
	// Job is set for a job event (Kind KindJob).
	Job *JobAudit `json:"job,omitempty"`
	// Prev is the state replaced; nil for the first write and when the
	// replaced value was corrupt (then PrevRaw holds it).
	Prev *State `json:"prev,omitempty"`
	// PrevRaw holds the replaced value when it could not be decoded.
	PrevRaw string `json:"prev_raw,omitempty"`
	// Problem is non-empty when the entry itself could not be fully decoded;
	// it says what is wrong, and the other fields hold what could be read.
	Problem string `json:"problem,omitempty"`
}

// History returns the newest n audit entries, newest first. Fewer are
// returned when fewer exist; the stream keeps about Options.AuditMaxLen
// entries. An entry that cannot be decoded is returned with Problem set
// rather than failing the call. n must be positive.
func (c *Client) History(ctx context.Context, n int) ([]AuditEntry, error) {
	if n <= 0 {
		return nil, fmt.Errorf("control: history: %w", invalid("n is %d, must be positive", n))
	}
	msgs, err := c.rdb.XRevRangeN(ctx, c.keys.audit, "+", "-", int64(n)).Result()
	if err != nil {
		return nil, fmt.Errorf("control: history: %w", err)
	}
	out := make([]AuditEntry, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, decodeAudit(m))
	}
	return out, nil
}

// decodeAudit turns one stream message into an entry, collecting every
// problem instead of stopping at the first.
func decodeAudit(m redis.XMessage) AuditEntry {
	e := AuditEntry{ID: m.ID}
	var problems []string
	if ms, _, ok := strings.Cut(m.ID, "-"); ok {
		if v, err := strconv.ParseInt(ms, 10, 64); err == nil {
			e.At = time.UnixMilli(v).UTC()
		}
	}
	field := func(name string) string {
		s, _ := m.Values[name].(string)
		return s
	}
	e.Kind = field("kind")
	e.Force = field("force") == "1"
	if v, err := strconv.ParseUint(field("epoch"), 10, 64); err == nil {
		e.Epoch = v
	} else {
		problems = append(problems, fmt.Sprintf("epoch: %v", err))
	}
	if e.Kind == KindJob {
		j, err := decodeJobAudit(field("job"))
		if err != nil {
			problems = append(problems, fmt.Sprintf("job: %v", err))
		}
		e.Job = &j
		e.Problem = strings.Join(problems, "; ")
		return e
	}
	s, err := decodeState([]byte(field("state")))
	if err != nil {
		problems = append(problems, fmt.Sprintf("state: %v", err))
	}
	e.State = s
	if prev := field("prev"); prev != "" {
		if p, err := decodeState([]byte(prev)); err == nil {
			e.Prev = &p
		} else {
			e.PrevRaw = prev
		}
	}
	e.Problem = strings.Join(problems, "; ")
	return e
}
