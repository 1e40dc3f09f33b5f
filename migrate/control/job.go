package control

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// JobKind names what a job does. Jobs run inside every live application
// instance, where the local sessions are (see package doc, Jobs).
type JobKind string

// Job kinds.
const (
	// JobBackfill copies every local session that is missing or older in
	// the distributed store.
	JobBackfill JobKind = "backfill"
	// JobDiff compares every instance's local sessions with the
	// distributed store and scans it once for sessions no instance holds;
	// its result becomes the last diff ([Client.LastDiff]).
	JobDiff JobKind = "diff"
	// JobRepair runs a diff's detection again and repairs what it
	// confirms.
	JobRepair JobKind = "repair"
)

// JobKinds lists the kinds.
var JobKinds = [...]JobKind{JobBackfill, JobDiff, JobRepair}

// Valid reports whether k is a known kind.
func (k JobKind) Valid() bool { return slices.Contains(JobKinds[:], k) }

// JobStatus is where a job stands.
type JobStatus string

// Job statuses. Running and Canceling last until the job ends; the others
// are final.
const (
	JobRunning   JobStatus = "running"
	JobCanceling JobStatus = "canceling" // cancel requested, not ended yet
	JobDone      JobStatus = "done"      // every participant finished its part
	JobPartial   JobStatus = "partial"   // a participant left mid-job; the rest ended it
	JobCanceled  JobStatus = "canceled"
	JobFailed    JobStatus = "failed" // a part failed, or nobody was left to run it
)

// Final reports whether s is a final status.
func (s JobStatus) Final() bool {
	switch s {
	case JobDone, JobPartial, JobCanceled, JobFailed:
		return true
	}
	return false
}

// JobParams tune a job. Zero values take the runner's defaults.
type JobParams struct {
	// Rate limits each instance to this many sessions per second.
	Rate float64 `json:"rate,omitempty"`
	// Batch is how many sessions go in one distributed round trip.
	Batch int `json:"batch,omitempty"`
	// Samples is how many redacted samples a diff keeps per kind and
	// instance.
	Samples int `json:"samples,omitempty"`
	// Kinds are the mismatch kinds a repair fixes (empty: the kinds its
	// diff found, or all).
	Kinds []string `json:"kinds,omitempty"`
	// FromJob is the diff a repair follows.
	FromJob string `json:"from_job,omitempty"`
}

// JobRequest asks for a job ([Client.RequestJob]).
type JobRequest struct {
	Kind   JobKind
	Params JobParams
	// Actor and Reason are recorded with the job and in the audit stream;
	// Reason is required.
	Actor, Reason string
}

// Job is a requested job as recorded when it was requested. It does not
// change afterwards; [JobInfo] adds how it goes.
type Job struct {
	ID     string    `json:"id"`
	Kind   JobKind   `json:"kind"`
	Params JobParams `json:"params"`
	Actor  string    `json:"actor"`
	Reason string    `json:"reason"`
	// Created is when it was requested.
	Created time.Time `json:"created"`
	// Stage, Percent and Epoch are the state in effect at the request.
	Stage   string  `json:"stage"`
	Percent float64 `json:"percent"`
	Epoch   uint64  `json:"epoch"`
	// Participants are the instances live at the request, sorted: each
	// runs its part. An instance that starts later takes no part.
	Participants []string `json:"participants"`
	// MemberKey keys the member hashes of a diff or repair (random per
	// job; see consistency.MemberSet).
	MemberKey string `json:"member_key,omitempty"`
}

// JobEnd is how a job ended; the first end written wins.
type JobEnd struct {
	Status JobStatus `json:"status"`
	At     time.Time `json:"at"`
	// By is the instance that ended it, or the operator for a job nobody
	// was left to end.
	By string `json:"by"`
	// Message says how it ended, in words an operator can act on: which
	// instance left and what was left undone, what failed.
	Message string `json:"message"`
	// Left are the participants that left mid-job.
	Left []string `json:"left,omitempty"`
	// Result is the kind's result (consistency.Report for a diff, ...),
	// covering what was done.
	Result json.RawMessage `json:"result,omitempty"`
}

// JobCancel records a cancel request.
type JobCancel struct {
	Actor  string    `json:"actor"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// Part is one participant's progress on a job, written by the participant.
type Part struct {
	Instance string `json:"instance"`
	// Run identifies the participant's process (random per start; see
	// [Client.JoinJob]).
	Run string `json:"run,omitempty"`
	// Phase is the part's step, set by the runner ("running", "members",
	// "held", "done", "failed", ...).
	Phase string `json:"phase"`
	// Done and Total count sessions: handled so far, and the expected
	// total (0 when unknown).
	Done  int64 `json:"done"`
	Total int64 `json:"total"`
	// Error says why the part failed.
	Error   string    `json:"error,omitempty"`
	Updated time.Time `json:"updated"`
	// Result is the part's own result when it finished.
	Result json.RawMessage `json:"result,omitempty"`
}

// JobInfo is a job and how it goes.
type JobInfo struct {
	Job
	Status JobStatus  `json:"status"`
	End    *JobEnd    `json:"end,omitempty"`
	Cancel *JobCancel `json:"cancel,omitempty"`
	// Phase is the job-wide step set by the instance leading it.
	Phase string `json:"phase,omitempty"`
	// Parts are the participants' parts, in Participants order; a
	// participant that wrote none yet has an empty Phase.
	Parts []Part `json:"parts"`
	// Scan is the leading instance's progress through the distributed
	// store, when the kind scans it.
	Scan *Part `json:"scan,omitempty"`
}

// maxJobIDBytes bounds job ids, which become part of Redis keys.
const maxJobIDBytes = 64

// ValidJobID reports whether id has the form of a job id: 1 to 64 ASCII
// letters, digits and dashes.
func ValidJobID(id string) bool {
	if id == "" || len(id) > maxJobIDBytes {
		return false
	}
	for _, c := range id {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// maxJobRecordBytes bounds a job record to decode; results carry reports
// with samples, far below it.
const maxJobRecordBytes = 8 << 20

// validate checks a decoded or requested job.
func (j Job) validate() error {
	switch {
	case !ValidJobID(j.ID):
		return fmt.Errorf("job id %q is not 1..%d letters, digits and dashes", j.ID, maxJobIDBytes)
	case !j.Kind.Valid():
		return fmt.Errorf("job kind %q is not one of backfill, diff, repair", j.Kind)
	case j.Params.Rate < 0 || j.Params.Batch < 0 || j.Params.Samples < 0:
		return fmt.Errorf("negative rate, batch or samples")
	case j.Params.FromJob != "" && !ValidJobID(j.Params.FromJob):
		return fmt.Errorf("from_job %q is not a job id", j.Params.FromJob)
	case len(j.Participants) == 0:
		return fmt.Errorf("no participant")
	}
	for _, p := range j.Participants {
		if p == "" || len(p) > maxInstanceIDBytes {
			return fmt.Errorf("participant id of %d bytes", len(p))
		}
	}
	return nil
}

// decodeJob parses a stored job record. Failures wrap ErrCorruptState.
func decodeJob(b []byte) (Job, error) {
	var j Job
	if len(b) > maxJobRecordBytes {
		return Job{}, fmt.Errorf("%w: job record of %d bytes", ErrCorruptState, len(b))
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return Job{}, fmt.Errorf("%w: job record: %v", ErrCorruptState, err)
	}
	if err := j.validate(); err != nil {
		return Job{}, fmt.Errorf("%w: job record: %v", ErrCorruptState, err)
	}
	return j, nil
}

// decodeJobEnd parses a stored job end. Failures wrap ErrCorruptState.
func decodeJobEnd(b []byte) (JobEnd, error) {
	var e JobEnd
	if len(b) > maxJobRecordBytes {
		return JobEnd{}, fmt.Errorf("%w: job end of %d bytes", ErrCorruptState, len(b))
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return JobEnd{}, fmt.Errorf("%w: job end: %v", ErrCorruptState, err)
	}
	if !e.Status.Final() {
		return JobEnd{}, fmt.Errorf("%w: job end status %q is not final", ErrCorruptState, e.Status)
	}
	return e, nil
}

// decodePart parses a stored part. Failures wrap ErrCorruptState.
func decodePart(b []byte) (Part, error) {
	var p Part
	if len(b) > maxJobRecordBytes {
		return Part{}, fmt.Errorf("%w: job part of %d bytes", ErrCorruptState, len(b))
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return Part{}, fmt.Errorf("%w: job part: %v", ErrCorruptState, err)
	}
	if p.Done < 0 || p.Total < 0 {
		return Part{}, fmt.Errorf("%w: job part: negative count", ErrCorruptState)
	}
	return p, nil
}

// decodeCancel parses a stored cancel request. Failures wrap
// ErrCorruptState.
func decodeCancel(b []byte) (JobCancel, error) {
	var c JobCancel
	if err := json.Unmarshal(b, &c); err != nil {
		return JobCancel{}, fmt.Errorf("%w: job cancel: %v", ErrCorruptState, err)
	}
	return c, nil
}

// String returns a short form such as "diff job diff-20310102T030405-1a2b".
func (j Job) String() string { return fmt.Sprintf("%s job %s", j.Kind, j.ID) }

// participantsOf returns the ids of hbs, sorted.
func participantsOf(hbs []Heartbeat) []string {
	out := make([]string, 0, len(hbs))
	for _, hb := range hbs {
		out = append(out, hb.InstanceID)
	}
	slices.SortFunc(out, strings.Compare)
	return out
}
