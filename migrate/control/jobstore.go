package control

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultJobTTL is how long a job's records are kept after it was
// requested.
const DefaultJobTTL = 7 * 24 * time.Hour

// jobKeys are the keys of one job; all share the control plane's hash tag.
type jobKeys struct {
	job, end, cancel, phase, lead, scan, partPrefix, blobPrefix string
}

func (c *Client) tag() string { return "{" + c.opts.Prefix + "}:" }

func (c *Client) jobKeys(id string) jobKeys {
	p := c.tag() + "job:" + id
	return jobKeys{job: p, end: p + ":end", cancel: p + ":cancel", phase: p + ":phase", lead: p + ":lead",
		scan: p + ":scan", partPrefix: p + ":part:", blobPrefix: p + ":blob:"}
}

func (c *Client) jobIndexKey() string              { return c.tag() + "jobs" }
func (c *Client) activeJobKey(kind JobKind) string { return c.tag() + "jobs:active:" + string(kind) }

// JobChannel returns the pub/sub channel on which job events publish
// "<event> <job id>".
func (c *Client) JobChannel() string { return c.tag() + "jobs:changes" }

// requestJobScript records a job unless one of its kind is active, and in
// the same step audits and announces it. It returns "" when recorded, else
// the active job's id.
//
// KEYS[1] active key, KEYS[2] job key, KEYS[3] index, KEYS[4] audit.
// ARGV[1] id, ARGV[2] job JSON, ARGV[3] created ms, ARGV[4] TTL ms,
// ARGV[5] audit MAXLEN, ARGV[6] channel, ARGV[7] epoch, ARGV[8] audit JSON.
var requestJobScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then return cur end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', 'kind', 'job', 'epoch', ARGV[7], 'job', ARGV[8])
redis.call('PUBLISH', ARGV[6], 'requested ' .. ARGV[1])
return ''
`)

// endJobScript writes a job's end unless it has one, frees its kind,
// records a diff job's result as the last diff, and audits and announces
// the end. It returns 1 when it ended the job.
//
// KEYS[1] end key, KEYS[2] active key, KEYS[3] audit, KEYS[4] last diff.
// ARGV[1] end JSON, ARGV[2] id, ARGV[3] TTL ms, ARGV[4] audit MAXLEN,
// ARGV[5] channel, ARGV[6] epoch, ARGV[7] audit JSON, ARGV[8] last diff
// JSON or "".
var endJobScript = redis.NewScript(`
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[3]) then return 0 end
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
if ARGV[8] ~= '' then redis.call('SET', KEYS[4], ARGV[8]) end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'kind', 'job', 'epoch', ARGV[6], 'job', ARGV[7])
redis.call('PUBLISH', ARGV[5], 'ended ' .. ARGV[2])
return 1
`)

// cancelJobScript records a cancel request on a job that has not ended,
// once, and audits and announces it. It returns 1 when recorded, 0 when
// the job had ended, 2 when a cancel was already recorded.
//
// KEYS[1] cancel key, KEYS[2] end key, KEYS[3] audit, KEYS[4] job key.
// ARGV[1] cancel JSON, ARGV[2] id, ARGV[3] TTL ms, ARGV[4] audit MAXLEN,
// ARGV[5] channel, ARGV[6] epoch, ARGV[7] audit JSON.
var cancelJobScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('EXISTS', KEYS[4]) == 0 then return -1 end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[3]) then return 2 end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'kind', 'job', 'epoch', ARGV[6], 'job', ARGV[7])
redis.call('PUBLISH', ARGV[5], 'canceled ' .. ARGV[2])
return 1
`)

// ErrNoJob is returned (wrapped) for a job id that names no job (never
// requested, or older than its records' TTL).
var ErrNoJob = errors.New("control: no such job")

// ErrJobRunning is returned (wrapped, with ErrRefused) by RequestJob when a
// job of the same kind is running: one job of a kind at a time.
var ErrJobRunning = errors.New("control: a job of this kind is running")

// newJobID returns a fresh job id: kind, UTC time, random suffix.
func newJobID(kind JobKind, now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%s-%s", kind, now.UTC().Format("20060102T150405"), hex.EncodeToString(b[:]))
}

// RequestJob records a job for every live instance to run (see [Job]):
// its participants are the instances live now ([Client.Instances]). It is
// refused (ErrRefused and ErrJobRunning) while a job of the same kind is
// running, unless that job can no longer end on its own (every participant
// gone), which is then ended as failed first. No live instance, or an
// invalid request, returns ErrInvalid. The request is audited with its
// reason and announced on JobChannel in the same atomic step.
func (c *Client) RequestJob(ctx context.Context, req JobRequest) (Job, error) {
	if req.Reason == "" {
		return Job{}, fmt.Errorf("control: request job: %w", invalid("reason is empty"))
	}
	st, err := c.State(ctx)
	if err != nil {
		return Job{}, fmt.Errorf("control: request job: %w", err)
	}
	live, err := c.Instances(ctx)
	if err != nil {
		return Job{}, fmt.Errorf("control: request job: %w", err)
	}
	if len(live) == 0 {
		return Job{}, fmt.Errorf("control: request job: %w", invalid("no live instance to run it (instances report through heartbeats)"))
	}
	now := c.now()
	j := Job{
		ID: newJobID(req.Kind, now), Kind: req.Kind, Params: req.Params, Actor: req.Actor, Reason: req.Reason,
		Created: now, Stage: st.Stage, Percent: st.Percent, Epoch: st.Epoch, Participants: participantsOf(live),
	}
	if req.Kind == JobDiff || req.Kind == JobRepair {
		var k [16]byte
		_, _ = rand.Read(k[:])
		j.MemberKey = hex.EncodeToString(k[:])
	}
	if err := j.validate(); err != nil {
		return Job{}, fmt.Errorf("control: request job: %w", invalid("%v", err))
	}
	b, err := json.Marshal(j)
	if err != nil {
		return Job{}, fmt.Errorf("control: request job: %w", err)
	}
	aud := JobAudit{ID: j.ID, Kind: j.Kind, Event: JobRequestedEvent, Actor: j.Actor, Reason: j.Reason}.encode()
	for attempt := 0; ; attempt++ {
		k := c.jobKeys(j.ID)
		active, err := requestJobScript.Run(ctx, c.rdb, []string{c.activeJobKey(j.Kind), k.job, c.jobIndexKey(), c.keys.audit},
			j.ID, b, now.UnixMilli(), DefaultJobTTL.Milliseconds(), c.opts.AuditMaxLen, c.JobChannel(), st.Epoch, aud).Text()
		if err != nil {
			return Job{}, fmt.Errorf("control: request job: %w", err)
		}
		if active == "" {
			c.log.Info("job requested", "job", j.ID, "kind", j.Kind, "actor", j.Actor, "reason", j.Reason, "participants", len(j.Participants))
			return j, nil
		}
		if attempt > 0 {
			return Job{}, fmt.Errorf("control: request job: %w: %w: %s is running", ErrRefused, ErrJobRunning, active)
		}
		// One chance to clear an active job that cannot end by itself.
		cleared, err := c.clearStale(ctx, j.Kind, active)
		if err != nil {
			return Job{}, fmt.Errorf("control: request job: %w", err)
		}
		if !cleared {
			return Job{}, fmt.Errorf("control: request job: %w: %w: %s is running (see it with `jobs show`, stop it with `jobs cancel`)", ErrRefused, ErrJobRunning, active)
		}
	}
}

// clearStale frees kind's active slot when the job holding it has ended,
// expired, or has no live participant left (it is ended as failed). It
// reports whether the slot is free now.
func (c *Client) clearStale(ctx context.Context, kind JobKind, id string) (bool, error) {
	info, err := c.JobInfo(ctx, id)
	if errors.Is(err, ErrNoJob) {
		return true, c.rdb.Eval(ctx, `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end return 0`,
			[]string{c.activeJobKey(kind)}, id).Err()
	}
	if err != nil {
		return false, err
	}
	if info.End != nil {
		return true, c.rdb.Eval(ctx, `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end return 0`,
			[]string{c.activeJobKey(kind)}, id).Err()
	}
	return c.Reap(ctx, id, "")
}

// ReapAfter is how long a job may go without any participant starting its
// part, or without ending after a cancel request, before Reap ends it.
const ReapAfter = 30 * time.Second

// Reap ends job id when nothing is left to end it, recording by as the one
// who did: as failed when none of its participants is live any more, or
// when none has started its part ReapAfter after the request (the instances
// run no job runner); as canceled when it was canceled ReapAfter ago and
// has not ended. It reports whether the job has ended, by this call or
// before. migratectl calls it while it waits for a job, and RequestJob
// before refusing a request because of a job of the same kind.
func (c *Client) Reap(ctx context.Context, id, by string) (bool, error) {
	info, err := c.JobInfo(ctx, id)
	if err != nil {
		return false, err
	}
	if info.End != nil {
		return true, nil
	}
	if by == "" {
		by = "control"
	}
	now := c.now()
	if cn := info.Cancel; cn != nil && now.Sub(cn.At) >= ReapAfter {
		return c.reap(ctx, id, JobEnd{Status: JobCanceled, By: by,
			Message: fmt.Sprintf("canceled by %s: %s; no instance ended it within %s of the cancel", cn.Actor, cn.Reason, ReapAfter)})
	}
	started := false
	for _, p := range info.Parts {
		started = started || p.Phase != ""
	}
	if !started && now.Sub(info.Created) >= ReapAfter {
		return c.reap(ctx, id, JobEnd{Status: JobFailed, By: by,
			Message: fmt.Sprintf("no participant started its part within %s: do the instances run a job runner (migrate.Migrator.StartJobs)?", ReapAfter)})
	}
	live, err := c.Instances(ctx)
	if err != nil {
		return false, err
	}
	alive := map[string]bool{}
	for _, hb := range live {
		alive[hb.InstanceID] = true
	}
	for _, p := range info.Participants {
		if alive[p] {
			return false, nil
		}
	}
	return c.reap(ctx, id, JobEnd{Status: JobFailed, By: by, Left: info.Participants,
		Message: fmt.Sprintf("every participant (%d) left before the job ended; nothing is left to run it", len(info.Participants))})
}

// reap writes end for job id and reports whether the job has ended.
func (c *Client) reap(ctx context.Context, id string, end JobEnd) (bool, error) {
	if _, err := c.EndJob(ctx, id, end, nil); err != nil {
		return false, err
	}
	return true, nil
}

// EndJob ends job id with end, unless it has ended already: the first end
// wins, and ended reports whether this one did. A zero end.At is set from
// the clock. The end frees the kind for a new job and is audited and
// announced atomically; with a non-nil last (a diff job's summary) it also
// becomes the last diff in the same step, so whoever sees the job ended
// sees its diff (a zero last.At is set from end.At).
func (c *Client) EndJob(ctx context.Context, id string, end JobEnd, last *DiffResult) (ended bool, err error) {
	if !end.Status.Final() {
		return false, fmt.Errorf("control: end job: %w", invalid("status %q is not final", end.Status))
	}
	j, err := c.Job(ctx, id)
	if err != nil {
		return false, fmt.Errorf("control: end job: %w", err)
	}
	if end.At.IsZero() {
		end.At = c.now()
	}
	b, err := json.Marshal(end)
	if err != nil {
		return false, fmt.Errorf("control: end job: %w", err)
	}
	var lastJSON []byte
	if last != nil {
		d := *last
		if d.At.IsZero() {
			d.At = end.At
		}
		if err := d.validate(); err != nil {
			return false, fmt.Errorf("control: end job: %w", invalid("last diff: %v", err))
		}
		if lastJSON, err = json.Marshal(d); err != nil {
			return false, fmt.Errorf("control: end job: %w", err)
		}
	}
	st, err := c.State(ctx)
	if err != nil {
		st.Epoch = j.Epoch // a corrupt state must not keep a job from ending
	}
	aud := JobAudit{ID: id, Kind: j.Kind, Event: JobEndedEvent, Actor: j.Actor, Reason: j.Reason, Status: end.Status, Message: end.Message}.encode()
	k := c.jobKeys(id)
	n, err := endJobScript.Run(ctx, c.rdb, []string{k.end, c.activeJobKey(j.Kind), c.keys.audit, c.keys.lastDiff},
		b, id, DefaultJobTTL.Milliseconds(), c.opts.AuditMaxLen, c.JobChannel(), st.Epoch, aud, lastJSON).Int()
	if err != nil {
		return false, fmt.Errorf("control: end job: %w", err)
	}
	if n == 1 {
		c.log.Info("job ended", "job", id, "kind", j.Kind, "status", end.Status, "by", end.By, "message", end.Message)
	}
	return n == 1, nil
}

// CancelJob asks job id to stop; its participants stop their parts and it
// ends as canceled with what was done. The request is audited with actor
// and reason. It returns ErrNoJob for an unknown job, and ErrRefused when
// the job has ended already; a second cancel is not an error.
func (c *Client) CancelJob(ctx context.Context, id, actor, reason string) error {
	if reason == "" {
		return fmt.Errorf("control: cancel job: %w", invalid("reason is empty"))
	}
	j, err := c.Job(ctx, id)
	if err != nil {
		return fmt.Errorf("control: cancel job: %w", err)
	}
	b, _ := json.Marshal(JobCancel{Actor: actor, Reason: reason, At: c.now()})
	st, err := c.State(ctx)
	if err != nil {
		st.Epoch = j.Epoch
	}
	aud := JobAudit{ID: id, Kind: j.Kind, Event: JobCanceledEvent, Actor: actor, Reason: reason}.encode()
	k := c.jobKeys(id)
	n, err := cancelJobScript.Run(ctx, c.rdb, []string{k.cancel, k.end, c.keys.audit, k.job},
		b, id, DefaultJobTTL.Milliseconds(), c.opts.AuditMaxLen, c.JobChannel(), st.Epoch, aud).Int()
	switch {
	case err != nil:
		return fmt.Errorf("control: cancel job: %w", err)
	case n == 0:
		return fmt.Errorf("control: cancel job: %w: %s has ended already", ErrRefused, id)
	case n < 0:
		return fmt.Errorf("control: cancel job: %w: %s", ErrNoJob, id)
	}
	return nil
}

// Job returns the record of job id (ErrNoJob when there is none).
func (c *Client) Job(ctx context.Context, id string) (Job, error) {
	if !ValidJobID(id) {
		return Job{}, fmt.Errorf("control: job: %w", invalid("%q is not a job id", id))
	}
	b, err := c.rdb.Get(ctx, c.jobKeys(id).job).Bytes()
	if errors.Is(err, redis.Nil) {
		return Job{}, fmt.Errorf("control: job: %w: %s", ErrNoJob, id)
	}
	if err != nil {
		return Job{}, fmt.Errorf("control: job: %w", err)
	}
	return decodeJob(b)
}

// ActiveJob returns the id of the running job of kind, or "" when none
// runs.
func (c *Client) ActiveJob(ctx context.Context, kind JobKind) (string, error) {
	id, err := c.rdb.Get(ctx, c.activeJobKey(kind)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("control: active job: %w", err)
	}
	return id, nil
}

// ActiveJobs returns the running job of every kind, in JobKinds order ("" for
// none), in one round trip: what an instance polls.
func (c *Client) ActiveJobs(ctx context.Context) ([]string, error) {
	keys := make([]string, len(JobKinds))
	for i, k := range JobKinds {
		keys[i] = c.activeJobKey(k)
	}
	vals, err := c.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("control: active jobs: %w", err)
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i], _ = v.(string)
	}
	return out, nil
}

// Jobs returns the newest n jobs, newest first, each with how it goes.
// Jobs whose records have expired are left out.
func (c *Client) Jobs(ctx context.Context, n int) ([]JobInfo, error) {
	if n <= 0 {
		return nil, fmt.Errorf("control: jobs: %w", invalid("n is %d, must be positive", n))
	}
	ids, err := c.rdb.ZRevRange(ctx, c.jobIndexKey(), 0, int64(n-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("control: jobs: %w", err)
	}
	out := []JobInfo{}
	for _, id := range ids {
		info, err := c.JobInfo(ctx, id)
		if errors.Is(err, ErrNoJob) {
			// Expired: drop it from the index on the way.
			_ = c.rdb.ZRem(ctx, c.jobIndexKey(), id).Err()
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}
