package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// JobInfo returns job id with its status, end, cancel request, phase,
// parts and scan progress, read in one round trip (ErrNoJob when there is
// no such job). A part or end that cannot be decoded is an error wrapping
// ErrCorruptState.
func (c *Client) JobInfo(ctx context.Context, id string) (JobInfo, error) {
	j, err := c.Job(ctx, id)
	if err != nil {
		return JobInfo{}, err
	}
	k := c.jobKeys(id)
	keys := []string{k.end, k.cancel, k.phase, k.scan}
	for _, p := range j.Participants {
		keys = append(keys, k.partPrefix+p)
	}
	vals, err := c.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return JobInfo{}, fmt.Errorf("control: job info: %w", err)
	}
	str := func(i int) (string, bool) {
		s, ok := vals[i].(string)
		return s, ok
	}
	info := JobInfo{Job: j, Status: JobRunning, Parts: make([]Part, len(j.Participants))}
	if s, ok := str(0); ok {
		e, err := decodeJobEnd([]byte(s))
		if err != nil {
			return JobInfo{}, fmt.Errorf("control: job info %s: %w", id, err)
		}
		info.End, info.Status = &e, e.Status
	}
	if s, ok := str(1); ok {
		cn, err := decodeCancel([]byte(s))
		if err != nil {
			return JobInfo{}, fmt.Errorf("control: job info %s: %w", id, err)
		}
		info.Cancel = &cn
		if info.End == nil {
			info.Status = JobCanceling
		}
	}
	info.Phase, _ = str(2)
	if s, ok := str(3); ok {
		p, err := decodePart([]byte(s))
		if err != nil {
			return JobInfo{}, fmt.Errorf("control: job info %s: %w", id, err)
		}
		info.Scan = &p
	}
	for i, name := range j.Participants {
		info.Parts[i] = Part{Instance: name}
		if s, ok := str(4 + i); ok {
			p, err := decodePart([]byte(s))
			if err != nil {
				return JobInfo{}, fmt.Errorf("control: job info %s: %w", id, err)
			}
			p.Instance = name
			info.Parts[i] = p
		}
	}
	return info, nil
}

// PutPart records instance's part of job id (a participant writes its
// own). A zero p.Updated is set from the clock.
func (c *Client) PutPart(ctx context.Context, id string, p Part) error {
	return c.putPart(ctx, "put part", c.jobKeys(id).partPrefix+p.Instance, p)
}

// PutScan records the leading instance's progress through the distributed
// store for job id.
func (c *Client) PutScan(ctx context.Context, id string, p Part) error {
	return c.putPart(ctx, "put scan", c.jobKeys(id).scan, p)
}

// putPart stores p as JSON at key for the job records' lifetime.
func (c *Client) putPart(ctx context.Context, op, key string, p Part) error {
	if p.Updated.IsZero() {
		p.Updated = c.now()
	}
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("control: %s: %w", op, err)
	}
	if err := c.rdb.Set(ctx, key, b, DefaultJobTTL).Err(); err != nil {
		return fmt.Errorf("control: %s: %w", op, err)
	}
	return nil
}

// SetJobPhase sets the job-wide phase of job id; only the leading instance
// does.
func (c *Client) SetJobPhase(ctx context.Context, id, phase string) error {
	if err := c.rdb.Set(ctx, c.jobKeys(id).phase, phase, DefaultJobTTL).Err(); err != nil {
		return fmt.Errorf("control: set job phase: %w", err)
	}
	return nil
}

// JoinJob records run (a random token of the participant's process) as
// instance's run for job id, unless one is recorded; it reports whether
// run is the recorded one. A participant that finds another run recorded
// restarted mid-job: its local sessions are not those it started with, so
// it must not take its part up again.
func (c *Client) JoinJob(ctx context.Context, id, instance, run string) (bool, error) {
	key := c.jobKeys(id).partPrefix + instance + ":run"
	if err := c.rdb.SetArgs(ctx, key, run, redis.SetArgs{Mode: "NX", TTL: DefaultJobTTL}).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return false, fmt.Errorf("control: join job: %w", err)
	}
	got, err := c.rdb.Get(ctx, key).Result()
	if err != nil {
		return false, fmt.Errorf("control: join job: %w", err)
	}
	return got == run, nil
}

// claimLeadScript takes the lead of a job for ARGV[1] when nobody holds it,
// or extends it when ARGV[1] holds it; it returns 1 when ARGV[1] leads.
var claimLeadScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// ClaimLead makes instance the leader of job id for ttl, or extends its
// lead; it reports whether instance leads. One participant leads a job at
// a time: it scans the distributed store and ends the job. A leader that
// stops renewing loses the lead when ttl passes, and another participant
// may take it.
func (c *Client) ClaimLead(ctx context.Context, id, instance string, ttl time.Duration) (bool, error) {
	n, err := claimLeadScript.Run(ctx, c.rdb, []string{c.jobKeys(id).lead}, instance, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("control: claim lead: %w", err)
	}
	return n == 1, nil
}

// PutBlob stores data under name for job id: the binary artefacts a job's
// participants exchange (member hashes). They expire with the job's
// records; DeleteBlobs removes them earlier.
func (c *Client) PutBlob(ctx context.Context, id, name string, data []byte) error {
	if err := c.rdb.Set(ctx, c.jobKeys(id).blobPrefix+name, data, DefaultJobTTL).Err(); err != nil {
		return fmt.Errorf("control: put blob: %w", err)
	}
	return nil
}

// Blob returns the data stored under name for job id; found is false when
// there is none.
func (c *Client) Blob(ctx context.Context, id, name string) (data []byte, found bool, err error) {
	b, err := c.rdb.Get(ctx, c.jobKeys(id).blobPrefix+name).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("control: blob: %w", err)
	}
	return b, true, nil
}

// DeleteBlobs removes the named blobs of job id.
func (c *Client) DeleteBlobs(ctx context.Context, id string, names ...string) error {
	if len(names) == 0 {
		return nil
	}
	keys := make([]string, len(names))
	for i, n := range names {
		keys[i] = c.jobKeys(id).blobPrefix + n
	}
	if err := c.rdb.Del(ctx, keys...).Err(); err != nil {
		return fmt.Errorf("control: delete blobs: %w", err)
	}
	return nil
}
