package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sessionmigrate/sessionmigrate/config"
	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// progress shows a job's progress while migratectl waits for it, on
// stderr: a bar redrawn in place on a terminal, a plain line per change
// (at most one a second) otherwise, and one JSON object per change with
// -o json, for machines.
type progress struct {
	w       io.Writer
	mode    progressMode
	last    string
	pending string // plain mode: the newest line, not shown yet
	shown   time.Time
	drawn   bool // a bar is on the current line
}

type progressMode int

const (
	progressLines progressMode = iota
	progressBar
	progressJSON
)

// newProgress picks the mode for w and the output format.
func newProgress(w io.Writer, output string) *progress {
	mode := progressLines
	switch {
	case output == config.OutputJSON || output == config.OutputYAML:
		mode = progressJSON
	case isTerminal(w):
		mode = progressBar
	}
	return &progress{w: w, mode: mode}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progressLine is one JSON progress record.
type progressLine struct {
	Job       string `json:"job"`
	Kind      string `json:"kind"`
	Status    string `json:"status"`
	Phase     string `json:"phase"`
	Done      int64  `json:"done"`
	Total     int64  `json:"total"`
	Scanned   int64  `json:"scanned"`
	Instances int    `json:"instances"`
	Reported  int    `json:"reported"`
}

// counts sums a job's parts.
func counts(info control.JobInfo) progressLine {
	l := progressLine{Job: info.ID, Kind: string(info.Kind), Status: string(info.Status), Phase: info.Phase, Instances: len(info.Parts)}
	for _, p := range info.Parts {
		l.Done += p.Done
		l.Total += p.Total
		if p.Phase != "" {
			l.Reported++
		}
	}
	if info.Scan != nil {
		l.Scanned = info.Scan.Done
	}
	if l.Phase == "" {
		l.Phase = "local"
	}
	return l
}

// show renders info.
func (p *progress) show(info control.JobInfo) {
	l := counts(info)
	switch p.mode {
	case progressJSON:
		b, _ := json.Marshal(l)
		if s := string(b); s != p.last {
			p.last = s
			fmt.Fprintln(p.w, s)
		}
	case progressBar:
		line := fmt.Sprintf("\r%s %s %s", info.ID, bar(l.Done, l.Total), describeProgress(l))
		if line != p.last {
			p.last = line
			fmt.Fprint(p.w, line+"\x1b[K")
			p.drawn = true
		}
	default:
		line := fmt.Sprintf("%s: %s", info.ID, describeProgress(l))
		if line == p.last {
			return
		}
		p.pending = line
		if time.Since(p.shown) >= time.Second {
			p.last, p.pending, p.shown = line, "", time.Now()
			fmt.Fprintln(p.w, line)
		}
	}
}

// done ends the progress display, showing the last state in plain mode.
func (p *progress) done() {
	if p.pending != "" {
		fmt.Fprintln(p.w, p.pending)
		p.pending = ""
	}
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

// bar draws done of total as [=====>    ] 45%, or a count when total is
// unknown.
func bar(done, total int64) string {
	const width = 30
	if total <= 0 {
		return "[" + strings.Repeat("?", width) + "]"
	}
	f := min(float64(done)/float64(total), 1)
	n := int(f * width)
	head := ""
	if n < width {
		head = ">"
	}
	return fmt.Sprintf("[%s%s%s] %3.0f%%", strings.Repeat("=", n), head, strings.Repeat(" ", max(width-n-len(head), 0)), f*100)
}

// describeProgress says where a job stands in words.
func describeProgress(l progressLine) string {
	s := fmt.Sprintf("%s/%s sessions, %d/%d instances reporting, phase %s", thousands(l.Done), thousands(l.Total), l.Reported, l.Instances, l.Phase)
	if l.Scanned > 0 {
		s += fmt.Sprintf(", %s Redis keys scanned", thousands(l.Scanned))
	}
	if l.Status != string(control.JobRunning) {
		s += " (" + l.Status + ")"
	}
	return s
}

// thousands formats n with comma separators.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
