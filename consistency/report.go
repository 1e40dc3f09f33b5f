package consistency

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Report is a full diff's result across the fleet: one PassResult per
// instance that took part, the distributed store's scan for extras, and
// the totals. It never holds a session id, only redacted samples, so it is
// safe to store, print and attach to a ticket. Encode it with
// encoding/json or WriteCSV; decode it with DecodeReport, which refuses
// anything that could carry an id in clear.
type Report struct {
	// Job is the control-plane job that ran the diff.
	Job string `json:"job"`
	// Stage, Percent and Epoch are the migration state the diff ran under.
	Stage   string  `json:"stage"`
	Percent float64 `json:"percent"`
	Epoch   uint64  `json:"epoch"`
	// Started and Finished bound the diff.
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Complete is true when every instance that took part finished its
	// pass and the distributed store was scanned for extras: only then
	// can the report be clean. Incomplete says why not, in words.
	Complete   bool   `json:"complete"`
	Incomplete string `json:"incomplete,omitempty"`
	// Instances are the instances' passes, sorted by instance; an instance
	// that left mid-diff shows what it had done.
	Instances []PassResult `json:"instances"`
	// Extras is the confirmation of the distributed store's sessions no
	// local store holds (its Instance is empty), nil when the scan did not
	// run. Scanned and Dropped are ScanExtras' counts.
	Extras  *PassResult `json:"extras"`
	Scanned int64       `json:"scanned"`
	Dropped int64       `json:"dropped"`
	// Checked totals the sessions compared, Mismatches the confirmed
	// mismatches by kind (Dropped candidates count as Extra), Unreadable
	// the distributed copies that do not decode.
	Checked    int64  `json:"checked"`
	Mismatches Counts `json:"mismatches"`
	Unreadable int64  `json:"unreadable"`
	// RedisOnly totals the sessions found in Redis alone (see
	// PassResult.RedisOnly): information, not a mismatch.
	RedisOnly int64 `json:"redis_only"`
}

// Total sums the parts into the report's totals. Call it after filling
// Instances, Extras and Dropped.
func (r *Report) Total() {
	r.Checked, r.Mismatches, r.Unreadable, r.RedisOnly = 0, Counts{}, 0, 0
	for _, p := range r.parts() {
		r.Checked += p.Checked
		r.Mismatches = r.Mismatches.Plus(p.Mismatches)
		r.Unreadable += p.Unreadable
		r.RedisOnly += p.RedisOnly
	}
	r.Mismatches.Extra += r.Dropped
	slices.SortFunc(r.Instances, func(a, b PassResult) int { return strings.Compare(a.Instance, b.Instance) })
}

// parts returns every pass of the report.
func (r *Report) parts() []PassResult {
	out := slices.Clone(r.Instances)
	if r.Extras != nil {
		out = append(out, *r.Extras)
	}
	return out
}

// Clean reports whether the diff covered the whole fleet and found nothing
// to repair: complete, no mismatch of any kind, nothing unreadable.
func (r *Report) Clean() bool {
	return r.Complete && r.Mismatches.Total() == 0 && r.Unreadable == 0
}

// Samples returns every part's samples, instances first.
func (r *Report) Samples() []Sample {
	var out []Sample
	for _, p := range r.parts() {
		out = append(out, p.Samples...)
	}
	return out
}

// ErrBadReport is wrapped by DecodeReport's errors.
var ErrBadReport = errors.New("consistency: bad report")

// maxReportBytes bounds a report to decode.
const maxReportBytes = 16 << 20

// DecodeReport parses a report encoded as JSON and checks it: known kinds
// and evidence, no negative count, and every sample's session a redacted
// id (so that a report can never carry a session id in clear).
func DecodeReport(b []byte) (Report, error) {
	if len(b) > maxReportBytes {
		return Report{}, fmt.Errorf("%w: %d bytes exceeds %d", ErrBadReport, len(b), maxReportBytes)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return Report{}, fmt.Errorf("%w: %v", ErrBadReport, err)
	}
	if err := r.validate(); err != nil {
		return Report{}, fmt.Errorf("%w: %v", ErrBadReport, err)
	}
	return r, nil
}

func (r *Report) validate() error {
	if r.Checked < 0 || r.Scanned < 0 || r.Dropped < 0 || r.Unreadable < 0 || r.RedisOnly < 0 {
		return errors.New("negative count")
	}
	if err := r.Mismatches.validate(); err != nil {
		return err
	}
	for _, p := range r.parts() {
		if err := p.validate(); err != nil {
			return fmt.Errorf("instance %q: %w", p.Instance, err)
		}
	}
	return nil
}

func (p PassResult) validate() error {
	for _, n := range []int64{p.Checked, p.InDistributed, p.Skipped, p.Superseded, p.Changed, p.Unreadable, p.RedisOnly} {
		if n < 0 {
			return errors.New("negative count")
		}
	}
	if err := p.Mismatches.validate(); err != nil {
		return err
	}
	for _, s := range p.Samples {
		if err := s.validate(); err != nil {
			return err
		}
	}
	return nil
}
