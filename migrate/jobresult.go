package migrate

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/sessionmigrate/sessionmigrate/consistency"
)

// The results jobs end with (control.JobEnd.Result): a diff job ends with
// a consistency.Report, a backfill with a BackfillReport and a repair with
// a RepairReport. None holds a session id.

// BackfillReport is the result of a backfill job: each participant's
// final progress and their sum.
type BackfillReport struct {
	Instances map[string]BackfillProgress `json:"instances"`
	Total     BackfillProgress            `json:"total"`
}

// RepairReport is the result of a repair job: what its detection
// confirmed (a full diff's report) and what was repaired, per instance
// (the instance "" is the extras, repaired by the leading instance) and in
// total.
type RepairReport struct {
	Diff      consistency.Report                  `json:"diff"`
	Instances map[string]consistency.RepairResult `json:"instances"`
	Total     consistency.RepairResult            `json:"total"`
}

// ErrBadResult is wrapped by the decoders of job results.
var ErrBadResult = errors.New("migrate: bad job result")

// DecodeBackfillReport parses a backfill job's result, refusing negative
// counts.
func DecodeBackfillReport(b []byte) (BackfillReport, error) {
	var r BackfillReport
	if err := json.Unmarshal(b, &r); err != nil {
		return BackfillReport{}, fmt.Errorf("%w: %v", ErrBadResult, err)
	}
	for _, p := range append([]BackfillProgress{r.Total}, slices.Collect(maps.Values(r.Instances))...) {
		if p.Scanned < 0 || p.Copied < 0 || p.Skipped < 0 || p.Failed < 0 {
			return BackfillReport{}, fmt.Errorf("%w: negative count", ErrBadResult)
		}
	}
	return r, nil
}

// DecodeRepairReport parses a repair job's result, checking its diff as
// consistency.DecodeReport does and refusing negative counts.
func DecodeRepairReport(b []byte) (RepairReport, error) {
	var raw struct {
		Diff      json.RawMessage                     `json:"diff"`
		Instances map[string]consistency.RepairResult `json:"instances"`
		Total     consistency.RepairResult            `json:"total"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return RepairReport{}, fmt.Errorf("%w: %v", ErrBadResult, err)
	}
	r := RepairReport{Instances: raw.Instances, Total: raw.Total}
	if len(raw.Diff) > 0 && string(raw.Diff) != "null" {
		d, err := consistency.DecodeReport(raw.Diff)
		if err != nil {
			return RepairReport{}, fmt.Errorf("%w: %w", ErrBadResult, err)
		}
		r.Diff = d
	}
	for _, p := range append([]consistency.RepairResult{r.Total}, slices.Collect(maps.Values(r.Instances))...) {
		if p.Copied < 0 || p.Tombstoned < 0 || p.Skipped < 0 || p.Failed < 0 || p.Left < 0 {
			return RepairReport{}, fmt.Errorf("%w: negative count", ErrBadResult)
		}
	}
	return r, nil
}
