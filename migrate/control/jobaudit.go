package control

import (
	"encoding/json"
	"fmt"
)

// KindJob is the audit kind of a job event ([AuditEntry.Job]).
const KindJob = "job"

// Job events in the audit stream.
const (
	JobRequestedEvent = "requested"
	JobCanceledEvent  = "canceled"
	JobEndedEvent     = "ended"
)

// JobAudit is a job event as the audit stream records it: who asked for
// what and why, and how it ended. It carries no result.
type JobAudit struct {
	ID    string  `json:"id"`
	Kind  JobKind `json:"kind"`
	Event string  `json:"event"`
	// Actor and Reason: the requester's for "requested", the canceler's
	// for "canceled", the job's own for "ended".
	Actor  string `json:"actor"`
	Reason string `json:"reason"`
	// Status and Message are set for "ended".
	Status  JobStatus `json:"status,omitempty"`
	Message string    `json:"message,omitempty"`
}

func (a JobAudit) encode() string {
	b, _ := json.Marshal(a) // plain fields: cannot fail
	return string(b)
}

// decodeJobAudit parses the job field of an audit entry.
func decodeJobAudit(s string) (JobAudit, error) {
	var a JobAudit
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		return JobAudit{}, err
	}
	switch a.Event {
	case JobRequestedEvent, JobCanceledEvent, JobEndedEvent:
	default:
		return a, fmt.Errorf("unknown job event %q", a.Event)
	}
	if !a.Kind.Valid() {
		return a, fmt.Errorf("unknown job kind %q", a.Kind)
	}
	return a, nil
}
