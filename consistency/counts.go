package consistency

import (
	"fmt"
	"time"

	"github.com/sessionmigrate/sessionmigrate/redact"
	"github.com/sessionmigrate/sessionmigrate/store"
)

// Counts counts confirmed mismatches by kind.
type Counts struct {
	Missing int64 `json:"missing"`
	Stale   int64 `json:"stale"`
	Extra   int64 `json:"extra"`
	Data    int64 `json:"data"`
	Expiry  int64 `json:"expiry"`
}

// ptr returns the counter of kind k, or nil for Match and unknown kinds.
func (c *Counts) ptr(k Kind) *int64 {
	switch k {
	case Missing:
		return &c.Missing
	case Stale:
		return &c.Stale
	case Extra:
		return &c.Extra
	case Data:
		return &c.Data
	case Expiry:
		return &c.Expiry
	}
	return nil
}

// Get returns the count of kind k (0 for Match and unknown kinds).
func (c Counts) Get(k Kind) int64 {
	if p := c.ptr(k); p != nil {
		return *p
	}
	return 0
}

// Add adds n to the count of kind k; Match and unknown kinds are ignored.
func (c *Counts) Add(k Kind, n int64) {
	if p := c.ptr(k); p != nil {
		*p += n
	}
}

// Plus returns c with every count of o added.
func (c Counts) Plus(o Counts) Counts {
	for _, k := range Kinds {
		c.Add(k, o.Get(k))
	}
	return c
}

// Total returns the number of mismatches of every kind.
func (c Counts) Total() int64 {
	var n int64
	for _, k := range Kinds {
		n += c.Get(k)
	}
	return n
}

// Found returns the kinds with a nonzero count, in Kinds order.
func (c Counts) Found() []Kind {
	var out []Kind
	for _, k := range Kinds {
		if c.Get(k) > 0 {
			out = append(out, k)
		}
	}
	return out
}

func (c Counts) validate() error {
	for _, k := range Kinds {
		if c.Get(k) < 0 {
			return fmt.Errorf("negative %s count %d", k, c.Get(k))
		}
	}
	return nil
}

// Evidence says what shows that a distributed copy no local store holds
// (an Extra) is a deleted session that came back.
const (
	// EvidenceTombstone: the data sits beside a tombstone, so it was
	// written over a delete by something that ignores tombstones. Certain.
	EvidenceTombstone = "tombstone"
	// EvidenceUnversioned: the data carries no version, so no Migrator
	// wrote it (Migrators version every write).
	EvidenceUnversioned = "unversioned"
	// EvidenceOrphan: a versioned copy no live local store holds. From
	// shadow on that is what a session of a restarted instance, or of a
	// user re-pinned to an instance that has not served it yet, looks like:
	// ConfirmExtras counts it as RedisOnly, never as an Extra to tombstone.
	// (A deleted session whose Redis tombstone was lost looks the same; the
	// instance that deleted it still holds a local tombstone and never
	// serves it.)
	EvidenceOrphan = "orphan"
	// EvidenceDeleted: a versioned copy no live local store holds, of a
	// session an instance holds a local tombstone of: its delete did not
	// reach Redis or Redis lost it (a failover, a restore). Certain; it is
	// repaired with a tombstone.
	EvidenceDeleted = "deleted"
)

// evidence classifies the distributed copy of an Extra.
func evidence(l store.Lookup) string {
	switch {
	case l.Tombstoned:
		return EvidenceTombstone
	case l.Record.Version == 0:
		return EvidenceUnversioned
	}
	return EvidenceOrphan
}

// Sample is one confirmed mismatch as a report shows it: the session only
// in its redacted form (see package redact), never the id.
type Sample struct {
	Kind Kind `json:"kind"`
	// Session is redact.ID(salt, id).
	Session string `json:"session"`
	// Instance is the instance whose local store was compared; empty for
	// an Extra, which no local store holds.
	Instance string `json:"instance,omitempty"`
	// Evidence is set for an Extra: EvidenceTombstone, EvidenceUnversioned
	// or EvidenceDeleted.
	Evidence string `json:"evidence,omitempty"`
	// Versions and expiries of the two copies as the re-check read them;
	// zero (null) for a copy that was missing.
	LocalVersion       uint64     `json:"local_version"`
	DistributedVersion uint64     `json:"distributed_version"`
	LocalExpiresAt     *time.Time `json:"local_expires_at"`
	DistExpiresAt      *time.Time `json:"distributed_expires_at"`
}

func (s Sample) validate() error {
	if !s.Kind.Valid() || s.Kind == Match {
		return fmt.Errorf("sample kind %q is not a mismatch kind", s.Kind)
	}
	if !redact.IsID(s.Session) {
		// Never quote it: it may be an id in clear.
		return fmt.Errorf("sample session (%d bytes) is not a redacted id", len(s.Session))
	}
	switch s.Evidence {
	case "", EvidenceTombstone, EvidenceUnversioned, EvidenceOrphan, EvidenceDeleted:
	default:
		return fmt.Errorf("sample evidence %q is unknown", s.Evidence)
	}
	return nil
}

// newSample builds the sample of a confirmed mismatch.
func newSample(h *redact.Hasher, instance string, mm Mismatch) Sample {
	s := Sample{Kind: mm.Kind, Session: h.ID(mm.ID), Instance: instance, Evidence: mm.Evidence}
	if mm.LocalFound {
		s.LocalVersion, s.LocalExpiresAt = mm.Local.Version, timePtr(mm.Local.ExpiresAt)
	}
	if mm.DistributedFound {
		s.DistributedVersion, s.DistExpiresAt = mm.Distributed.Version, timePtr(mm.Distributed.ExpiresAt)
	}
	return s
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}
