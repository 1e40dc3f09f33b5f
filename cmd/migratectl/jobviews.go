package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sessionmigrate/sessionmigrate/consistency"
	"github.com/sessionmigrate/sessionmigrate/migrate"
	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// jobView is a job as `jobs show`, `jobs` and the job requests print it.
type jobView struct {
	ID      string            `json:"id"`
	Kind    string            `json:"kind"`
	Status  string            `json:"status"`
	Actor   string            `json:"actor"`
	Reason  string            `json:"reason"`
	Created time.Time         `json:"created"`
	Params  control.JobParams `json:"params"`
	// Stage, Percent and Epoch are the state in effect at the request.
	Stage        string     `json:"stage"`
	Percent      float64    `json:"percent"`
	Epoch        uint64     `json:"epoch"`
	Participants []string   `json:"participants"`
	Phase        string     `json:"phase"`
	Parts        []partView `json:"parts"`
	// Ended, EndedBy, Message and Left describe the end; null or empty
	// while the job runs.
	Ended   *time.Time `json:"ended"`
	EndedBy string     `json:"ended_by"`
	Message string     `json:"message"`
	Left    []string   `json:"left"`
	// Cancel is the cancel request, null when none.
	Cancel *control.JobCancel `json:"cancel"`
	// Result is the kind's result: a diff report, a backfill report or a
	// repair report (null while running).
	Result json.RawMessage `json:"result"`
	// ExitCode is what `--wait` exits with for this job once it ended.
	ExitCode int `json:"exit_code"`
}

// partView is one participant's part.
type partView struct {
	Instance string    `json:"instance"`
	Phase    string    `json:"phase"`
	Done     int64     `json:"done"`
	Total    int64     `json:"total"`
	Error    string    `json:"error"`
	Updated  time.Time `json:"updated"`
}

func newJobView(info control.JobInfo) jobView {
	v := jobView{
		ID: info.ID, Kind: string(info.Kind), Status: string(info.Status), Actor: info.Actor, Reason: info.Reason,
		Created: info.Created, Params: info.Params, Stage: info.Stage, Percent: info.Percent, Epoch: info.Epoch,
		Participants: info.Participants, Phase: info.Phase, Parts: []partView{}, Cancel: info.Cancel, Left: []string{},
	}
	for _, p := range info.Parts {
		v.Parts = append(v.Parts, partView{Instance: p.Instance, Phase: p.Phase, Done: p.Done, Total: p.Total, Error: p.Error, Updated: p.Updated})
	}
	if e := info.End; e != nil {
		v.Ended, v.EndedBy, v.Message, v.Result = timePtr(e.At), e.By, e.Message, e.Result
		if e.Left != nil {
			v.Left = e.Left
		}
		v.ExitCode = jobExitCode(info)
	}
	return v
}

// jobExitCode is the exit status of waiting for an ended job: the diff
// bitmask for a diff, else 0 when done and exitIncomplete otherwise.
func jobExitCode(info control.JobInfo) int {
	if info.End == nil {
		return exitOK
	}
	if info.Kind != control.JobDiff {
		if info.Status == control.JobDone {
			return exitOK
		}
		return exitIncomplete
	}
	rep, err := consistency.DecodeReport(info.End.Result)
	if err != nil {
		return exitDiffBase | exitDiffPartial
	}
	return diffExitCode(rep, info.Status)
}

// diffExitCode maps a diff report to the exit bitmask (see exit.go).
func diffExitCode(rep consistency.Report, status control.JobStatus) int {
	bits := 0
	c := rep.Mismatches
	for _, b := range []struct {
		n   int64
		bit int
	}{{c.Missing, exitDiffMissing}, {c.Stale, exitDiffStale}, {c.Extra, exitDiffExtra}, {c.Data + rep.Unreadable, exitDiffData}, {c.Expiry, exitDiffExpiry}} {
		if b.n > 0 {
			bits |= b.bit
		}
	}
	if !rep.Complete || status != control.JobDone {
		bits |= exitDiffPartial
	}
	if bits == 0 {
		return exitOK
	}
	return exitDiffBase | bits
}

// writeJob is the table output of one job.
func writeJob(w io.Writer, info control.JobInfo) {
	row(w, "JOB:", fmt.Sprintf("%s (%s)", info.ID, info.Kind))
	row(w, "STATUS:", info.Status)
	row(w, "REQUESTED:", fmt.Sprintf("%s by %s: %s, at %s", when(info.Created), clean(info.Actor), clean(info.Reason), describe(control.State{Stage: info.Stage, Percent: info.Percent})))
	if c := info.Cancel; c != nil {
		row(w, "CANCEL:", fmt.Sprintf("%s by %s: %s", when(c.At), clean(c.Actor), clean(c.Reason)))
	}
	if e := info.End; e != nil {
		row(w, "ENDED:", fmt.Sprintf("%s by %s, after %s", when(e.At), clean(e.By), e.At.Sub(info.Created).Round(time.Millisecond)))
		row(w, "", clean(e.Message))
	}
	io.WriteString(w, "\n")
	row(w, "INSTANCE", "PHASE", "DONE", "TOTAL", "ERROR")
	for _, p := range info.Parts {
		phase := p.Phase
		if phase == "" {
			phase = "-"
		}
		row(w, clean(p.Instance), phase, thousands(p.Done), thousands(p.Total), clean(p.Error))
	}
	if info.End == nil || len(info.End.Result) == 0 {
		return
	}
	io.WriteString(w, "\n")
	switch info.Kind {
	case control.JobDiff:
		if rep, err := consistency.DecodeReport(info.End.Result); err == nil {
			writeReport(w, rep, jobExitCode(info))
		}
	case control.JobBackfill:
		if rep, err := migrate.DecodeBackfillReport(info.End.Result); err == nil {
			t := rep.Total
			row(w, "BACKFILL:", fmt.Sprintf("%s sessions scanned: %s copied, %s skipped (newer or in flight), %s failed (repaired online)",
				thousands(t.Scanned), thousands(t.Copied), thousands(t.Skipped), thousands(t.Failed)))
		}
	case control.JobRepair:
		if rep, err := migrate.DecodeRepairReport(info.End.Result); err == nil {
			t := rep.Total
			row(w, "REPAIRED:", fmt.Sprintf("%s copied at their versions, %s extras tombstoned, %s skipped (a newer write won), %s failed, %s of kinds not asked",
				thousands(t.Copied), thousands(t.Tombstoned), thousands(t.Skipped), thousands(t.Failed), thousands(t.Left)))
			io.WriteString(w, "\n")
			writeReport(w, rep.Diff, -1)
		}
	}
}

// writeReport is the table output of a diff report; exit < 0 omits it.
func writeReport(w io.Writer, rep consistency.Report, exit int) {
	verdict := "clean"
	if !rep.Clean() {
		verdict = "NOT clean"
	}
	var kinds []string
	for _, k := range consistency.Kinds {
		kinds = append(kinds, fmt.Sprintf("%d %s", rep.Mismatches.Get(k), k))
	}
	line := fmt.Sprintf("%s: %s", verdict, strings.Join(kinds, ", "))
	if rep.Unreadable > 0 {
		line += fmt.Sprintf(", %d unreadable", rep.Unreadable)
	}
	if exit >= 0 {
		line += fmt.Sprintf(" (exit %d)", exit)
	}
	row(w, "RESULT:", line)
	if !rep.Complete {
		row(w, "PARTIAL:", clean(rep.Incomplete))
	}
	row(w, "COVERED:", fmt.Sprintf("%d instances, %s local sessions compared; %s Redis keys scanned for extras",
		len(rep.Instances), thousands(rep.Checked-checkedExtras(rep)), thousands(rep.Scanned)))
	if rep.RedisOnly > 0 {
		// Not a mismatch: the session of a restarted instance or a
		// re-pinned user, served from Redis on its next read.
		row(w, "REDIS ONLY:", fmt.Sprintf("%s sessions no local store holds yet (restarts, re-pinned users; not mismatches)", thousands(rep.RedisOnly)))
	}
	io.WriteString(w, "\n")
	row(w, "INSTANCE", "CHECKED", "IN REDIS", "SUPERSEDED", "CHANGED", "MISSING", "STALE", "EXTRA", "DATA", "EXPIRY")
	parts := rep.Instances
	if rep.Extras != nil {
		parts = append(parts, *rep.Extras)
	}
	for _, p := range parts {
		name := clean(p.Instance)
		if p.Instance == "" {
			name = "(extras)"
		}
		m := p.Mismatches
		row(w, name, thousands(p.Checked), thousands(p.InDistributed), p.Superseded, p.Changed, m.Missing, m.Stale, m.Extra, m.Data, m.Expiry)
	}
	samples := rep.Samples()
	if len(samples) == 0 {
		return
	}
	io.WriteString(w, "\n")
	row(w, "SAMPLE", "KIND", "INSTANCE", "EVIDENCE", "LOCAL V", "REDIS V", "LOCAL EXPIRY", "REDIS EXPIRY")
	for _, s := range samples {
		row(w, s.Session, s.Kind, clean(s.Instance), s.Evidence, s.LocalVersion, s.DistributedVersion, whenPtr(s.LocalExpiresAt), whenPtr(s.DistExpiresAt))
	}
}

// checkedExtras is how many of a report's checked sessions are the extras'
// confirmation reads.
func checkedExtras(rep consistency.Report) int64 {
	if rep.Extras == nil {
		return 0
	}
	return rep.Extras.Checked
}

func whenPtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return when(*t)
}
