package demo

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/sessionmigrate/sessionmigrate/internal/vuser"
	"github.com/sessionmigrate/sessionmigrate/migrate/guard"
)

// printer writes the narration. It keeps the first write error, so that
// the demo runs to its end and cleans up even when the terminal went away,
// and Run still reports it.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err != nil {
		return
	}
	_, p.err = fmt.Fprintf(p.w, format, args...)
}

// The step table: one line per step with what every instance applied, the
// requests so far and the four counters that must stay zero, then an
// indented note saying what the step showed.
const (
	stepHeader = "%-2s %-12s %-21s %6s %9s %6s %7s %5s %6s\n"
	stepRow    = "%-2d %-12s %-21s %6s %9s %6d %7d %5d %6d\n"
	noteIndent = "   "
)

// legend explains the step table's columns.
func (p *printer) legend() {
	p.printf("Each step line shows the state every instance applied (stage, percent, control-plane epoch) and\n")
	p.printf("how long that took, the requests so far, and the counters that must stay 0: FAILED requests,\n")
	p.printf("LOGOUTS (a live session not found), LOST writes (a counter went back), RESURRected sessions.\n\n")
}

func (p *printer) stepHeader(instances int) {
	p.printf(stepHeader, "#", "STEP", fmt.Sprintf("APPLIED BY ALL %d", instances), "IN", "REQUESTS", "FAILED", "LOGOUTS", "LOST", "RESURR")
}

func (p *printer) stepRow(n int, name, applied string, in time.Duration, t vuser.Result) {
	p.printf(stepRow, n, name, applied, latency(in), thousands(t.Requests), failed(t), t.Logouts, t.LostWrites, t.Resurrections)
}

// note prints an indented explanation under a step line.
func (p *printer) note(format string, args ...any) {
	p.printf(noteIndent+format+"\n", args...)
}

// summaryRow is one step in the summary table: what happened during it.
type summaryRow struct {
	name       string
	took       time.Duration
	t          vuser.Result // counts during the step
	maxLatency time.Duration
}

const (
	summaryHeader = "  %-12s %6s %9s %8s %6s %7s %5s %6s\n"
	summaryLine   = "  %-12s %6s %9s %8s %6d %7d %5d %6d\n"
)

func (p *printer) summary(rows []summaryRow, total vuser.Result, took time.Duration) {
	p.printf("\nSummary: each step's own requests (a login, read, increment, rotation, logout or probe)\n")
	p.printf(summaryHeader, "STEP", "TIME", "REQUESTS", "SLOWEST", "FAILED", "LOGOUTS", "LOST", "RESURR")
	var slowest time.Duration
	for _, r := range rows {
		p.printf(summaryLine, r.name, seconds(r.took), thousands(r.t.Requests), latency(r.maxLatency),
			failed(r.t), r.t.Logouts, r.t.LostWrites, r.t.Resurrections)
		slowest = max(slowest, r.maxLatency)
	}
	p.printf(summaryLine, "total", seconds(took), thousands(total.Requests), latency(slowest),
		failed(total), total.Logouts, total.LostWrites, total.Resurrections)
	p.printf("\n  users did %s logins, %s reads, %s increments, %s rotations, %s logouts\n  and %s re-reads of ended sessions\n",
		thousands(total.Logins), thousands(total.Reads), thousands(total.Increments), thousands(total.Rotations),
		thousands(total.UserLogouts), thousands(total.Probes))
}

// failed is the FAILED column: requests that failed or were answered with
// wrong data (a foreign session, a counter ahead of every write, a moved
// expiry).
func failed(t vuser.Result) uint64 { return t.Failed + t.Anomalies }

// thousands formats n with comma separators: 12345 -> "12,345".
func thousands[T ~int | ~int64 | ~uint64](n T) string {
	s := strconv.FormatInt(int64(n), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// seconds formats d as "1.5s".
func seconds(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }

// latency formats d compactly: "850µs", "12ms", "1.2s".
func latency(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return seconds(d)
}

// describe is a migration state in the operator's words: "ramp 50% e4",
// "shadow e6 (rolled back)".
func describe(stage string, percent float64, epoch uint64, tripped bool) string {
	s := stage
	if stage == "ramp" {
		s = fmt.Sprintf("ramp %g%%", percent)
	}
	s += fmt.Sprintf(" e%d", epoch)
	if tripped {
		s += " rolled back"
	}
	return s
}

// tripCause says in plain words what a guard saw when it tripped, from its
// evidence and settings: "Redis looked slow: 12 of its last 80 calls
// (15%) took longer than 50ms, and the guard allows 1%".
func tripCause(ev guard.Evidence, s guard.Settings) string {
	w := ev.Run // what built the score
	if w.Ops == 0 {
		w = ev.Window
	}
	share := func(n uint64) string {
		return fmt.Sprintf("%d of its last %s Redis calls (%s)", n, thousands(w.Ops), percent(ratio(n, w.Ops)))
	}
	switch ev.Reason {
	case guard.ReasonLatency:
		msg := fmt.Sprintf("Redis looked slow to it: %s took longer than %s, and the guard allows %s",
			share(w.Slow), latency(s.SlowThreshold), percent(s.Latency.P1))
		if w.Delayed > 0 {
			msg += fmt.Sprintf(" (%d more were slow only because its own process was held up, by up to %s, and did not count)",
				w.Delayed, latency(w.ProcessDelay))
		}
		return msg
	case guard.ReasonErrorRate:
		return fmt.Sprintf("Redis calls failed: %s failed, and the guard allows %s", share(w.Failures), percent(s.ErrorRate.P1))
	case guard.ReasonAvailability:
		return fmt.Sprintf("Redis did not answer: %s got no answer in time, and the guard allows %s",
			share(w.Unavailable), percent(s.Availability.P1))
	case guard.ReasonConsecutiveFailures:
		return fmt.Sprintf("Redis did not answer: %.0f calls in a row failed or got no answer in time", ev.Score)
	case guard.ReasonInconsistency:
		return fmt.Sprintf("sessions read from Redis differed from the instance's own copy %.0f times within %s",
			ev.Score, s.InconsistencyWindow)
	default:
		return fmt.Sprintf("it was told to (%s)", ev.Reason)
	}
}

func ratio(n, d uint64) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// percent formats a share: 0.15 -> "15%", 0.0123 -> "1.2%", 0.001 ->
// "0.1%".
func percent(f float64) string {
	if p := 100 * f; p < 10 {
		return strconv.FormatFloat(p, 'g', 2, 64) + "%"
	}
	return fmt.Sprintf("%.0f%%", 100*f)
}
