package control

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxInstanceIDBytes bounds instance IDs, which become part of Redis keys.
const maxInstanceIDBytes = 256

// indexGrace is how long past its expiry an instance stays in the listing
// index before a heartbeat prunes it even if nobody listed instances. It is
// generous so that clock skew between instances never prunes a live one.
const indexGrace = 10 * time.Minute

// Heartbeat is what one instance reports about itself.
type Heartbeat struct {
	// InstanceID identifies the instance; required, at most 256 bytes.
	InstanceID string `json:"instance_id"`
	// Host is the host or pod name.
	Host string `json:"host,omitempty"`
	// Version is the toolkit or application version.
	Version string `json:"version,omitempty"`
	// Stage, Percent and Epoch are the state the instance has applied.
	Stage   string  `json:"stage"`
	Percent float64 `json:"percent"`
	Epoch   uint64  `json:"epoch"`
	// LocalSessions is the number of sessions in the instance's local store.
	LocalSessions int `json:"local_sessions"`
	// DistErrorRate is the recent error rate of distributed-store operations,
	// 0..1.
	DistErrorRate float64 `json:"dist_error_rate"`
	// DistP99 is the recent 99th percentile latency of distributed-store
	// operations (nanoseconds in JSON).
	DistP99 time.Duration `json:"dist_p99_ns"`
	// Guard is the instance's automatic-rollback guard.
	Guard GuardStatus `json:"guard"`
	// LastStateError reports a control state the instance could not apply
	// ("unknown or corrupt state, kept last good"), empty when none.
	LastStateError string `json:"last_state_error,omitempty"`
	// Unsynced is the instance's repair backlog: sessions whose
	// distributed copy may be behind local (failed or pending writes).
	Unsynced int `json:"unsynced"`
	// AsyncDropped counts async distributed writes a full queue refused
	// since the instance started (each left its session unsynced).
	AsyncDropped uint64 `json:"async_dropped"`
	// SaltID is redact.SaltID of the instance's bucketing salt (empty from
	// releases before it): instances that route alike report the same.
	SaltID string `json:"salt_id,omitempty"`
	// LastDiff is the instance's part of the newest diff it ran, nil
	// before its first.
	LastDiff *InstanceDiff `json:"last_diff,omitempty"`
	// At is when the heartbeat was taken; PublishHeartbeat fills a zero At
	// from the clock.
	At time.Time `json:"at"`
}

// InstanceDiff is one instance's part of a diff, as its heartbeat reports
// it: how many of its local sessions the distributed store held.
type InstanceDiff struct {
	Job string    `json:"job"`
	At  time.Time `json:"at"`
	// Checked counts the local sessions compared; InDistributed those the
	// distributed store held live (the instance's sessions in Redis).
	Checked       int64 `json:"checked"`
	InDistributed int64 `json:"in_distributed"`
	// Mismatches counts confirmed mismatches by kind (DiffKinds).
	Mismatches map[string]int64 `json:"mismatches,omitempty"`
}

// GuardStatus is the automatic-rollback guard of one instance.
type GuardStatus struct {
	// Tripped is true while the guard holds a rollback.
	Tripped bool `json:"tripped"`
	// Reason says why it tripped.
	Reason string `json:"reason,omitempty"`
	// Paused is true while the guard is not judging (no traffic, disabled).
	Paused bool `json:"paused"`
}

// pruneScript removes from the instance index every listed instance whose
// heartbeat key is gone, re-checking each key so that an instance that
// heartbeats meanwhile stays listed.
//
// KEYS[1] index; KEYS[i+1] the heartbeat key of the instance ARGV[i].
var pruneScript = redis.NewScript(`
for i, id in ipairs(ARGV) do
  if redis.call('EXISTS', KEYS[i + 1]) == 0 then
    redis.call('ZREM', KEYS[1], id)
  end
end
return 0
`)

// instanceKey returns the heartbeat key of one instance.
func (c *Client) instanceKey(id string) string { return c.keys.instancePrefix + id }

// PublishHeartbeat stores hb under its instance for ttl (at least a
// millisecond) and lists the instance, so [Client.Instances] returns it until
// the key expires or it is removed. A zero hb.At is set from the clock. An
// empty or over-long InstanceID returns ErrInvalid.
func (c *Client) PublishHeartbeat(ctx context.Context, hb Heartbeat, ttl time.Duration) error {
	if hb.InstanceID == "" || len(hb.InstanceID) > maxInstanceIDBytes {
		return fmt.Errorf("control: heartbeat: %w", invalid("instance id must be 1..%d bytes, got %d", maxInstanceIDBytes, len(hb.InstanceID)))
	}
	if ttl < time.Millisecond {
		return fmt.Errorf("control: heartbeat: %w", invalid("ttl %s is below 1ms", ttl))
	}
	now := c.now()
	if hb.At.IsZero() {
		hb.At = now
	}
	b, err := json.Marshal(hb)
	if err != nil {
		return fmt.Errorf("control: heartbeat: %w", err)
	}
	_, err = c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, c.instanceKey(hb.InstanceID), b, ttl)
		p.ZAdd(ctx, c.keys.instances, redis.Z{Score: float64(now.Add(ttl).UnixMilli()), Member: hb.InstanceID})
		p.ZRemRangeByScore(ctx, c.keys.instances, "-inf", fmt.Sprint(now.Add(-indexGrace).UnixMilli()))
		return nil
	})
	if err != nil {
		return fmt.Errorf("control: heartbeat: %w", err)
	}
	return nil
}

// RemoveHeartbeat deletes an instance's heartbeat, as a clean shutdown does,
// so it disappears from [Client.Instances] at once. A missing instance is not
// an error.
func (c *Client) RemoveHeartbeat(ctx context.Context, instanceID string) error {
	_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, c.instanceKey(instanceID))
		p.ZRem(ctx, c.keys.instances, instanceID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("control: remove heartbeat: %w", err)
	}
	return nil
}

// Instances returns the heartbeats of live instances (those whose last
// heartbeat has not expired), sorted by InstanceID; an empty, non-nil slice
// when there are none. Expired instances are pruned from the index on the
// way. A heartbeat that cannot be decoded is logged and left out.
func (c *Client) Instances(ctx context.Context) ([]Heartbeat, error) {
	ids, err := c.rdb.ZRange(ctx, c.keys.instances, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("control: instances: %w", err)
	}
	out := []Heartbeat{}
	if len(ids) == 0 {
		return out, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = c.instanceKey(id)
	}
	vals, err := c.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("control: instances: %w", err)
	}
	var gone []string
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			gone = append(gone, ids[i])
			continue
		}
		hb, err := decodeHeartbeat([]byte(s))
		if err != nil {
			c.log.Warn("undecodable instance heartbeat", "instance", ids[i], "err", err)
			continue
		}
		out = append(out, hb)
	}
	if len(gone) > 0 {
		c.prune(ctx, gone)
	}
	slices.SortFunc(out, func(a, b Heartbeat) int { return strings.Compare(a.InstanceID, b.InstanceID) })
	return out, nil
}

// prune drops expired instances from the index. Failing is harmless (the
// next listing retries), so errors are only logged.
func (c *Client) prune(ctx context.Context, ids []string) {
	keys := make([]string, 0, len(ids)+1)
	keys = append(keys, c.keys.instances)
	args := make([]any, len(ids))
	for i, id := range ids {
		keys = append(keys, c.instanceKey(id))
		args[i] = id
	}
	if err := pruneScript.Run(ctx, c.rdb, keys, args...).Err(); err != nil {
		c.log.Warn("pruning expired instances", "err", err)
	}
}

// decodeHeartbeat parses a stored heartbeat. Failures wrap ErrCorruptState.
func decodeHeartbeat(b []byte) (Heartbeat, error) {
	var hb Heartbeat
	if err := json.Unmarshal(b, &hb); err != nil {
		return Heartbeat{}, fmt.Errorf("%w: heartbeat: %v", ErrCorruptState, err)
	}
	switch {
	case hb.InstanceID == "" || len(hb.InstanceID) > maxInstanceIDBytes:
		return Heartbeat{}, fmt.Errorf("%w: heartbeat: instance id of %d bytes", ErrCorruptState, len(hb.InstanceID))
	case hb.LocalSessions < 0 || hb.Unsynced < 0:
		return Heartbeat{}, fmt.Errorf("%w: heartbeat: negative count", ErrCorruptState)
	}
	if d := hb.LastDiff; d != nil && (d.Checked < 0 || d.InDistributed < 0) {
		return Heartbeat{}, fmt.Errorf("%w: heartbeat: negative diff count", ErrCorruptState)
	}
	return hb, nil
}
