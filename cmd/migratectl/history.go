package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// historyView is the output of `migratectl history`.
type historyView struct {
	// Entries are the newest changes, newest first.
	Entries []historyEntry `json:"entries"`
}

// historyEntry is one audited change.
type historyEntry struct {
	ID    string    `json:"id"`
	At    time.Time `json:"at"`
	Kind  string    `json:"kind"` // update, rollback, resume or repair
	Epoch uint64    `json:"epoch"`
	// State is the state written, with who and why.
	State stateView `json:"state"`
	// Prev is the state replaced; null for the first change or when it was
	// corrupt.
	Prev *stateView `json:"prev"`
	// Force is true when the change was made with --force.
	Force bool `json:"force"`
	// Job is set for a job event (kind "job"): the job, the event
	// (requested, canceled, ended), who and why, and how it ended.
	Job *control.JobAudit `json:"job,omitempty"`
	// Problem says what could not be decoded in this entry; empty if all.
	Problem string `json:"problem,omitempty"`
}

// historyCommand is `migratectl history [-n N]`.
func (a *app) historyCommand() *cobra.Command {
	var n int
	cmd := &cobra.Command{
		Use:   "history [-n N]",
		Short: "Show the newest audited changes, newest first",
		Args:  cobra.ExactArgs(0),
	}
	cmd.Flags().IntVarP(&n, "number", "n", 20, "number of entries to show")
	cmd.RunE = a.runE(func(cmd *cobra.Command, _ []string) error {
		if n <= 0 {
			return usagef("-n %d: must be a positive number of entries", n)
		}
		return a.withControl(cmd, func(ctx context.Context, ctl *control.Client) error {
			entries, err := ctl.History(ctx, n)
			if err != nil {
				return err
			}
			v := historyView{Entries: make([]historyEntry, 0, len(entries))}
			for _, e := range entries {
				h := historyEntry{ID: e.ID, At: e.At, Kind: e.Kind, Epoch: e.Epoch, State: newStateView(e.State), Problem: e.Problem,
					Force: e.Force, Job: e.Job}
				if e.Prev != nil {
					p := newStateView(*e.Prev)
					h.Prev = &p
				}
				v.Entries = append(v.Entries, h)
			}
			return a.render(v, func(w io.Writer) { writeHistory(w, entries) })
		})
	})
	return cmd
}

// writeHistory writes the history table.
func writeHistory(w io.Writer, entries []control.AuditEntry) {
	if len(entries) == 0 {
		io.WriteString(w, "no changes recorded\n")
		return
	}
	row(w, "TIME", "EPOCH", "KIND", "CHANGE", "ACTOR", "REASON")
	for _, e := range entries {
		if j := e.Job; j != nil {
			change := fmt.Sprintf("%s job %s %s", j.Kind, j.ID, j.Event)
			reason := clean(j.Reason)
			if j.Event == control.JobEndedEvent {
				change += " " + string(j.Status)
				reason = clean(j.Message)
			}
			row(w, when(e.At), e.Epoch, e.Kind, change, clean(j.Actor), reason)
			continue
		}
		var prev string
		switch {
		case e.Prev != nil:
			prev = describe(*e.Prev)
		case e.PrevRaw != "":
			prev = "(corrupt)"
		default: // the first write replaced no key: the initial state
			prev = control.StageLocal
		}
		change := prev + " -> " + describe(e.State)
		if e.Force {
			change += " (--force)"
		}
		reason := clean(e.State.Reason)
		if e.Problem != "" {
			reason = fmt.Sprintf("%s [undecodable: %s]", reason, clean(e.Problem))
		}
		row(w, when(e.At), e.Epoch, e.Kind, change, clean(e.State.Actor), reason)
	}
}
