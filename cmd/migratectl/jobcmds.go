package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sessionmigrate/sessionmigrate/consistency"
	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// diffCommand is `migratectl diff`.
func (a *app) diffCommand() *cobra.Command {
	var f jobFlags
	var samples int
	cmd := &cobra.Command{
		Use:   "diff --reason R [--wait]",
		Short: "Compare every instance's local sessions with Redis (a full diff job)",
		Long: `Request a full consistency diff: every live instance compares its local
sessions with Redis (batched, pipelined, version-aware, each difference
re-checked), and one of them scans Redis once for sessions no instance holds
(extras: deleted sessions that came back). Its result becomes the last diff,
which "stage complete" needs clean, taken at ramp 100% under the current
state, with every live instance taking part.

With --wait, progress shows on stderr and the exit status is a bitmask:
0 clean; else 32 plus 1 missing, 2 stale, 4 extra, 8 data (or unreadable),
16 expiry, 64 partial (an instance left, canceled, failed). The report
holds no session id, only keyed-hash prefixes (as route prints them).`,
		Args: cobra.ExactArgs(0),
	}
	addJobFlags(cmd, &f)
	addReportFlags(cmd, &f)
	cmd.Flags().IntVar(&samples, "samples", 0, "redacted samples kept per kind and instance (0: the default, 10)")
	cmd.RunE = a.runE(func(cmd *cobra.Command, _ []string) error {
		if samples < 0 {
			return usagef("--samples %d: must not be negative", samples)
		}
		return a.request(cmd, control.JobDiff, f, control.JobParams{Samples: samples})
	})
	return cmd
}

// backfillCommand is `migratectl backfill`.
func (a *app) backfillCommand() *cobra.Command {
	var f jobFlags
	cmd := &cobra.Command{
		Use:   "backfill --reason R [--wait]",
		Short: "Copy every instance's local sessions that Redis lacks (a backfill job)",
		Long: `Request a backfill: every live instance copies its local sessions that are
missing or older in Redis, each at its own version and absolute expiry
through a compare-and-set, so no newer write is replaced and no deleted
session comes back. Safe under traffic; run it from shadow or dual on.
With --wait, progress shows on stderr; the exit status is 0 when every
instance finished, 4 when the job ended without (an instance left, canceled,
failed).`,
		Args: cobra.ExactArgs(0),
	}
	addJobFlags(cmd, &f)
	cmd.RunE = a.runE(func(cmd *cobra.Command, _ []string) error {
		return a.request(cmd, control.JobBackfill, f, control.JobParams{})
	})
	return cmd
}

// repairCommand is `migratectl repair`.
func (a *app) repairCommand() *cobra.Command {
	var f jobFlags
	var from, kinds string
	cmd := &cobra.Command{
		Use:   "repair --reason R [--from JOB] [--kinds k,...] [--wait]",
		Short: "Repair what a diff found (a repair job)",
		Long: `Request a repair of what a diff found (--from, default the last diff): the
kinds it found, or --kinds (missing, stale, extra, data, expiry). A report
holds no session id, so the repair runs the diff's detection again on every
instance and repairs what it confirms now: missing, stale and different
copies are copied from local at their versions, extras are tombstoned at
their own version; every write is a compare-and-set, so a newer write made
since always wins. Then diff again.

Extras with evidence "orphan" may be idle sessions of an instance that
restarted during dual or ramp: tombstoning them logs those users out.
Leave extra out of --kinds to keep them.`,
		Args: cobra.ExactArgs(0),
	}
	addJobFlags(cmd, &f)
	cmd.Flags().StringVar(&from, "from", "", "the diff job to repair (default: the last diff)")
	cmd.Flags().StringVar(&kinds, "kinds", "", "comma-separated kinds to repair (default: the kinds the diff found)")
	cmd.RunE = a.runE(func(cmd *cobra.Command, _ []string) error {
		want, err := parseKinds(kinds)
		if err != nil {
			return err
		}
		var params control.JobParams
		nothing := false
		err = a.withControl(cmd, func(ctx context.Context, ctl *control.Client) error {
			params, nothing, err = repairParams(ctx, ctl, from, want)
			return err
		})
		if err != nil {
			return err
		}
		if nothing {
			return a.render(requestView{Kind: string(control.JobRepair), Participants: []string{}}, func(w io.Writer) {
				fmt.Fprintf(w, "the diff %s found nothing to repair: nothing requested\n", params.FromJob)
			})
		}
		return a.request(cmd, control.JobRepair, f, params)
	})
	return cmd
}

// parseKinds parses --kinds.
func parseKinds(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var out []string
	for _, k := range strings.Split(s, ",") {
		k = strings.TrimSpace(k)
		if !consistency.Kind(k).Valid() || k == string(consistency.Match) {
			return nil, usagef("--kinds: %q is not one of missing, stale, extra, data, expiry", k)
		}
		out = append(out, k)
	}
	return out, nil
}

// repairParams resolves the diff a repair follows and the kinds it
// repairs; nothing is true when that diff found nothing (and no kinds
// were asked).
func repairParams(ctx context.Context, ctl *control.Client, from string, kinds []string) (control.JobParams, bool, error) {
	if from == "" {
		d, found, err := ctl.LastDiff(ctx)
		if err != nil {
			return control.JobParams{}, false, err
		}
		if !found || d.Job == "" {
			return control.JobParams{}, false, failf("no diff job has run: run migratectl diff --wait first, or name one with --from")
		}
		from = d.Job
	}
	info, err := ctl.JobInfo(ctx, from)
	if err != nil {
		return control.JobParams{}, false, err
	}
	switch {
	case info.Kind != control.JobDiff:
		return control.JobParams{}, false, usagef("--from %s: it is a %s job, not a diff", from, info.Kind)
	case info.End == nil:
		return control.JobParams{}, false, failf("the diff %s is still running: wait for it (migratectl jobs show %s --wait)", from, from)
	}
	p := control.JobParams{FromJob: from, Kinds: kinds}
	if len(kinds) > 0 {
		return p, false, nil
	}
	rep, err := consistency.DecodeReport(info.End.Result)
	if err != nil {
		return control.JobParams{}, false, failf("the report of %s does not decode: %v", from, err)
	}
	for _, k := range rep.Mismatches.Found() {
		p.Kinds = append(p.Kinds, string(k))
	}
	return p, len(p.Kinds) == 0, nil
}

// jobsView is the output of `migratectl jobs`.
type jobsView struct {
	Jobs []jobView `json:"jobs"`
}

// jobsCommand is `migratectl jobs [list|show|cancel]`.
func (a *app) jobsCommand() *cobra.Command {
	var n int
	cmd := &cobra.Command{
		Use:   "jobs [-n N]",
		Short: "List the newest jobs (backfill, diff, repair); show or cancel one",
		Args:  cobra.ExactArgs(0),
	}
	cmd.Flags().IntVarP(&n, "number", "n", 20, "number of jobs to list")
	cmd.RunE = a.runE(func(cmd *cobra.Command, _ []string) error {
		if n <= 0 {
			return usagef("-n %d: must be a positive number of jobs", n)
		}
		return a.withControl(cmd, func(ctx context.Context, ctl *control.Client) error {
			infos, err := ctl.Jobs(ctx, n)
			if err != nil {
				return err
			}
			v := jobsView{Jobs: []jobView{}}
			for _, info := range infos {
				v.Jobs = append(v.Jobs, newJobView(info))
			}
			return a.render(v, func(w io.Writer) { writeJobs(w, infos) })
		})
	})
	cmd.AddCommand(a.jobsShowCommand(), a.jobsCancelCommand())
	return cmd
}

func (a *app) jobsShowCommand() *cobra.Command {
	var f jobFlags
	cmd := &cobra.Command{
		Use:   "show <job> [--wait]",
		Short: "Show one job: its parts, how it ended and its result",
		Args:  cobra.ExactArgs(1),
	}
	cmd.Flags().BoolVar(&f.wait, "wait", false, "wait for the job to end, showing its progress on stderr")
	cmd.Flags().DurationVar(&f.waitTimeout, "wait-timeout", 0, "with --wait, stop waiting after this long (0: no limit)")
	addReportFlags(cmd, &f)
	cmd.RunE = a.runE(func(cmd *cobra.Command, args []string) error {
		id, err := jobID(args[0])
		if err != nil {
			return err
		}
		if f.wait {
			return a.waitJob(cmd, id, f)
		}
		return a.withControl(cmd, func(ctx context.Context, ctl *control.Client) error {
			info, err := ctl.JobInfo(ctx, id)
			if err != nil {
				return err
			}
			if info.End != nil && info.Kind == control.JobDiff && (f.report != "" || f.csv != "") {
				if err := writeReportFiles(info, f.report, f.csv); err != nil {
					return err
				}
			}
			return a.render(newJobView(info), func(w io.Writer) { writeJob(w, info) })
		})
	})
	return cmd
}

func (a *app) jobsCancelCommand() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "cancel <job> --reason R",
		Short: "Ask a running job to stop; it ends canceled with what was done",
		Args:  cobra.ExactArgs(1),
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the job is canceled (required; recorded in the audit log)")
	cmd.RunE = a.runE(func(cmd *cobra.Command, args []string) error {
		id, err := jobID(args[0])
		if err != nil {
			return err
		}
		if reason, err = reasonRequired(reason); err != nil {
			return err
		}
		return a.withControl(cmd, func(ctx context.Context, ctl *control.Client) error {
			if err := ctl.CancelJob(ctx, id, a.actor(), reason); err != nil {
				return err
			}
			info, err := ctl.JobInfo(ctx, id)
			if err != nil {
				return err
			}
			return a.render(newJobView(info), func(w io.Writer) {
				fmt.Fprintf(w, "cancel of %s requested: its instances stop and it ends canceled with what was done\n", id)
			})
		})
	})
	return cmd
}

// jobID checks a job id argument.
func jobID(s string) (string, error) {
	if !control.ValidJobID(s) {
		return "", usagef("%q is not a job id (see migratectl jobs)", s)
	}
	return s, nil
}

// writeJobs is the table output of the job list.
func writeJobs(w io.Writer, infos []control.JobInfo) {
	if len(infos) == 0 {
		io.WriteString(w, "no jobs recorded\n")
		return
	}
	row(w, "JOB", "KIND", "STATUS", "REQUESTED", "ACTOR", "INSTANCES", "PROGRESS", "REASON")
	for _, info := range infos {
		l := counts(info)
		prog := thousands(l.Done)
		if l.Total > 0 {
			prog += "/" + thousands(l.Total)
		}
		row(w, info.ID, info.Kind, info.Status, when(info.Created), clean(info.Actor), len(info.Participants), prog, clean(info.Reason))
	}
}
