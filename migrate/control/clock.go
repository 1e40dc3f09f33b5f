package control

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClockOffset is how far one instance's clock was from the Redis server's
// when it last published a heartbeat: positive when the instance's clock is
// ahead.
type ClockOffset struct {
	Instance string        `json:"instance"`
	Offset   time.Duration `json:"offset_ns"`
}

// clockScript returns the server's TIME and, for each instance, its
// heartbeat key's PTTL and its score in the index (the instance's clock at
// the heartbeat plus the TTL), in one atomic step.
//
// KEYS[1] the index; KEYS[i+1] the heartbeat key of the instance ARGV[i].
var clockScript = redis.NewScript(`
local t = redis.call('TIME')
local out = {t[1], t[2]}
for i = 2, #KEYS do
  out[#out + 1] = redis.call('PTTL', KEYS[i])
  out[#out + 1] = redis.call('ZSCORE', KEYS[1], ARGV[i - 1]) or ''
end
return out
`)

// ClockOffsets estimates each live instance's clock offset from the Redis
// server's, without any field in the heartbeat: an instance lists itself
// in the index with its own clock's now plus the heartbeat TTL, and Redis
// counts the same TTL down on the heartbeat key by its clock, so
// score - (server now + PTTL) is the instance's clock minus the server's at
// the heartbeat, to within the heartbeat's round trip. Instances whose
// heartbeat expired meanwhile are left out; the result is sorted by
// instance.
func (c *Client) ClockOffsets(ctx context.Context) ([]ClockOffset, error) {
	ids, err := c.rdb.ZRange(ctx, c.keys.instances, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("control: clock offsets: %w", err)
	}
	keys := []string{c.keys.instances}
	args := make([]any, len(ids))
	for i, id := range ids {
		keys = append(keys, c.instanceKey(id))
		args[i] = id
	}
	res, err := clockScript.Run(ctx, c.rdb, keys, args...).Slice()
	if err != nil {
		return nil, fmt.Errorf("control: clock offsets: %w", err)
	}
	if len(res) != 2+2*len(ids) {
		return nil, fmt.Errorf("control: clock offsets: %d values for %d instances", len(res), len(ids))
	}
	sec, err1 := strconv.ParseInt(fmt.Sprint(res[0]), 10, 64)
	usec, err2 := strconv.ParseInt(fmt.Sprint(res[1]), 10, 64)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("control: clock offsets: TIME answered %v %v", res[0], res[1])
	}
	serverMs := sec*1000 + usec/1000
	out := []ClockOffset{}
	for i, id := range ids {
		pttl, ok := res[2+2*i].(int64)
		score, err := strconv.ParseFloat(fmt.Sprint(res[3+2*i]), 64)
		if !ok || pttl < 0 || err != nil {
			continue // expired or unlisted meanwhile
		}
		out = append(out, ClockOffset{Instance: id, Offset: time.Duration(int64(score)-(serverMs+pttl)) * time.Millisecond})
	}
	slices.SortFunc(out, func(a, b ClockOffset) int { return strings.Compare(a.Instance, b.Instance) })
	return out, nil
}
