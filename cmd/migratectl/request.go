package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessionmigrate/sessionmigrate/consistency"
	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// jobFlags are the flags of the commands that request a job.
type jobFlags struct {
	reason      string
	dryRun      bool
	wait        bool
	waitTimeout time.Duration
	rate        float64
	batch       int
	report, csv string // diff: where to write the report
}

func addJobFlags(cmd *cobra.Command, f *jobFlags) {
	fl := cmd.Flags()
	fl.StringVar(&f.reason, "reason", "", "why this job is run (required; recorded in the audit log)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "show the job and the instances that would run it, request nothing")
	fl.BoolVar(&f.wait, "wait", false, "wait for the job to end, showing its progress on stderr")
	fl.DurationVar(&f.waitTimeout, "wait-timeout", 0, "with --wait, stop waiting after this long (the job goes on; 0: no limit)")
	fl.Float64Var(&f.rate, "rate", 0, "at most this many sessions per second on each instance (0: no limit)")
	fl.IntVar(&f.batch, "batch", 0, "sessions per Redis round trip (0: the instances' default)")
}

func addReportFlags(cmd *cobra.Command, f *jobFlags) {
	cmd.Flags().StringVar(&f.report, "report", "", "with --wait, write the diff report as JSON to this file")
	cmd.Flags().StringVar(&f.csv, "csv", "", "with --wait, write the diff report as CSV to this file")
}

// requestView is what a job request prints without --wait.
type requestView struct {
	DryRun       bool     `json:"dry_run"`
	Requested    bool     `json:"requested"`
	Job          *jobView `json:"job"`
	Kind         string   `json:"kind"`
	Participants []string `json:"participants"`
}

// request asks for a job of kind with params and, with --wait, follows it
// to its end.
func (a *app) request(cmd *cobra.Command, kind control.JobKind, f jobFlags, params control.JobParams) error {
	reason, err := reasonRequired(f.reason)
	if err != nil {
		return err
	}
	if f.rate < 0 || f.batch < 0 || f.waitTimeout < 0 {
		return usagef("--rate, --batch and --wait-timeout must not be negative")
	}
	if (f.report != "" || f.csv != "") && !f.wait {
		return usagef("--report and --csv need --wait")
	}
	params.Rate, params.Batch = f.rate, f.batch
	var job control.Job
	err = a.withControl(cmd, func(ctx context.Context, ctl *control.Client) error {
		if f.dryRun {
			hbs, err := ctl.Instances(ctx)
			if err != nil {
				return err
			}
			v := requestView{DryRun: true, Kind: string(kind), Participants: []string{}}
			for _, hb := range hbs {
				v.Participants = append(v.Participants, hb.InstanceID)
			}
			return a.render(v, func(w io.Writer) {
				fmt.Fprintf(w, "dry run: a %s job would run on %d live instances (%s): nothing requested\n",
					kind, len(v.Participants), clean(strings.Join(v.Participants, ", ")))
			})
		}
		job, err = ctl.RequestJob(ctx, control.JobRequest{Kind: kind, Params: params, Actor: a.actor(), Reason: reason})
		if errors.Is(err, control.ErrInvalid) && strings.Contains(err.Error(), "no live instance") {
			return failf("no live instance to run the %s: jobs run inside the application instances (their heartbeats list them: migratectl instances)", kind)
		}
		return err
	})
	if err != nil || f.dryRun {
		return err
	}
	if !f.wait {
		return a.withControl(cmd, func(ctx context.Context, ctl *control.Client) error {
			info, err := ctl.JobInfo(ctx, job.ID)
			if err != nil {
				return err
			}
			v := newJobView(info)
			return a.render(requestView{Requested: true, Job: &v, Kind: string(kind), Participants: job.Participants}, func(w io.Writer) {
				fmt.Fprintf(w, "%s job %s requested on %d instances; follow it with: migratectl jobs show %s --wait\n",
					kind, job.ID, len(job.Participants), job.ID)
			})
		})
	}
	return a.waitJob(cmd, job.ID, f)
}

// waitJob follows job id to its end, showing progress on stderr, prints
// the job and returns the exit status for it (see exit.go).
func (a *app) waitJob(cmd *cobra.Command, id string, f jobFlags) error {
	if _, err := a.loadConfig(cmd); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	if f.waitTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.waitTimeout)
		defer cancel()
	}
	prog := newProgress(a.stderr, a.cfg.CLI.Output)
	info, err := a.follow(ctx, id, prog)
	prog.done()
	if err != nil {
		return err
	}
	if info.Kind == control.JobDiff && (f.report != "" || f.csv != "") {
		if err := writeReportFiles(info, f.report, f.csv); err != nil {
			return err
		}
	}
	if err := a.render(newJobView(info), func(w io.Writer) { writeJob(w, info) }); err != nil {
		return err
	}
	if code := jobExitCode(info); code != exitOK {
		return &cliError{code: code, err: fmt.Errorf("%s job %s ended %s: %s", info.Kind, info.ID, info.Status, exitSummary(info))}
	}
	return nil
}

// exitSummary says in a line why a job's exit status is not 0.
func exitSummary(info control.JobInfo) string {
	if info.Kind == control.JobDiff && info.Status == control.JobDone {
		if rep, err := consistency.DecodeReport(info.End.Result); err == nil {
			var found []string
			for _, k := range rep.Mismatches.Found() {
				found = append(found, fmt.Sprintf("%d %s", rep.Mismatches.Get(k), k))
			}
			if rep.Unreadable > 0 {
				found = append(found, fmt.Sprintf("%d unreadable", rep.Unreadable))
			}
			return "mismatches found: " + strings.Join(found, ", ") + " (repair them: migratectl repair --wait)"
		}
	}
	return clean(info.End.Message)
}

// follow polls job id until it ends or ctx does, showing progress; a job
// whose every participant has left is ended (reaped) on the way.
func (a *app) follow(ctx context.Context, id string, prog *progress) (control.JobInfo, error) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	var lastReap time.Time
	for {
		var info control.JobInfo
		err := a.withControlCtx(ctx, func(cctx context.Context, ctl *control.Client) error {
			var err error
			if info, err = ctl.JobInfo(cctx, id); err != nil || info.End != nil || time.Since(lastReap) < 2*time.Second {
				return err
			}
			lastReap = time.Now()
			if ended, err := ctl.Reap(cctx, id, a.actor()); err != nil || !ended {
				return err
			}
			info, err = ctl.JobInfo(cctx, id)
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return info, failf("stopped waiting for job %s (%v); it goes on: migratectl jobs show %s", id, context.Cause(ctx), id)
			}
			return info, err
		}
		prog.show(info)
		if info.End != nil {
			return info, nil
		}
		select {
		case <-ctx.Done():
			return info, failf("stopped waiting for job %s (%v); it goes on: migratectl jobs show %s", id, context.Cause(ctx), id)
		case <-t.C:
		}
	}
}

// withControlCtx runs fn with the control client and a context bounded by
// cli.timeout under parent (a long wait makes many such calls).
func (a *app) withControlCtx(parent context.Context, fn func(context.Context, *control.Client) error) error {
	ctx, cancel := context.WithTimeout(parent, a.cfg.CLI.Timeout)
	defer cancel()
	ctl, err := a.connect(ctx)
	if err != nil {
		return err
	}
	return fn(ctx, ctl)
}

// writeReportFiles writes a diff job's report as JSON and CSV.
func writeReportFiles(info control.JobInfo, jsonPath, csvPath string) error {
	rep, err := consistency.DecodeReport(info.End.Result)
	if err != nil {
		return failf("the report of %s does not decode: %v", info.ID, err)
	}
	if jsonPath != "" {
		if err := os.WriteFile(jsonPath, append(info.End.Result, '\n'), 0o600); err != nil {
			return failf("write the report: %v", err)
		}
	}
	if csvPath != "" {
		f, err := os.OpenFile(csvPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return failf("write the CSV report: %v", err)
		}
		werr := rep.WriteCSV(f)
		if err := f.Close(); werr == nil {
			werr = err
		}
		if werr != nil {
			return failf("write the CSV report: %v", werr)
		}
	}
	return nil
}
