package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sessionmigrate/sessionmigrate/migrate/control"
)

// Exit codes, documented in doc.go and in `migratectl --help`.
const (
	exitOK      = 0 // success, including a dry run that would succeed
	exitError   = 1 // the command failed: Redis unreachable, corrupt state, conflict
	exitUsage   = 2 // bad arguments, flags, input or configuration
	exitRefused = 3 // a guard rail refused the change (stage order, clean diff, ...)
	// exitIncomplete: a waited-for backfill or repair job ended without
	// doing all its work (an instance left, canceled, failed).
	exitIncomplete = 4
)

// The exit status of `diff --wait` (and `jobs show --wait` of a diff) is a
// bitmask, as pt-table-checksum's: 0 for a clean diff of the whole fleet,
// else exitDiffBase plus a bit per mismatch kind found, plus exitDiffPartial
// when the diff did not cover every instance. The codes so made, 33 to 127,
// never collide with 1, 2, 3 and 4, which keep their meanings (a diff that
// could not be requested or followed exits 1, 2 or 3).
const (
	exitDiffBase    = 32
	exitDiffMissing = 1
	exitDiffStale   = 2
	exitDiffExtra   = 4
	exitDiffData    = 8 // different data, or a Redis copy that does not decode
	exitDiffExpiry  = 16
	exitDiffPartial = 64 // an instance left, the diff was canceled or failed
)

// preflight's exit bitmask, 16 plus a bit per area, is in preflight.go.

// cliError is an error carrying the exit code it maps to. Every error a
// command returns is one; an error without a code comes from cobra's own
// argument and flag parsing, and is a usage error.
type cliError struct {
	code int
	err  error
	// list is true for errors that are a list of problems, one per line
	// (configuration), printed as such instead of joined into one line.
	list bool
}

func (e *cliError) Error() string { return e.err.Error() }
func (e *cliError) Unwrap() error { return e.err }

// usagef returns a usage error (exit 2).
func usagef(format string, args ...any) error {
	return &cliError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// failf returns a plain failure (exit 1).
func failf(format string, args ...any) error {
	return &cliError{code: exitError, err: fmt.Errorf(format, args...)}
}

// classify gives err its exit code unless it has one: refusals of the
// control plane exit 3, invalid requests 2, anything else 1. The message is
// shortened to what an operator needs.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var ce *cliError
	if errors.As(err, &ce) {
		return err
	}
	switch {
	case errors.Is(err, control.ErrRefused):
		// control's messages say "use force"; here that is the --force flag.
		msg := strings.ReplaceAll(after(err.Error(), control.ErrRefused.Error()+": "), "use force", "use --force")
		return &cliError{code: exitRefused, err: errors.New("refused: " + msg)}
	case errors.Is(err, control.ErrInvalid):
		return &cliError{code: exitUsage, err: errors.New(after(err.Error(), control.ErrInvalid.Error()+": "))}
	}
	return &cliError{code: exitError, err: err}
}

// after returns the text after the last occurrence of sep in s, or s.
func after(s, sep string) string {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[i+len(sep):]
	}
	return s
}

// report writes err to w as "migratectl: <message>" and returns its exit
// code. A message is one line, except a list of several configuration
// problems, which keeps one problem per line.
func report(w io.Writer, err error) int {
	code := exitUsage // cobra's own parse errors carry no code
	var ce *cliError
	if errors.As(err, &ce) {
		code = ce.code
	}
	lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
	if ce != nil && ce.list && len(lines) > 2 {
		fmt.Fprintf(w, "migratectl: %s\n", lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(w, "  %s\n", l)
		}
		return code
	}
	msg := strings.Join(strings.Fields(strings.Join(lines, " ")), " ")
	// cobra's suggestion for a mistyped command spans lines.
	if head, alts, ok := strings.Cut(msg, " Did you mean this? "); ok {
		msg = fmt.Sprintf("%s (did you mean: %s?)", head, strings.ReplaceAll(alts, " ", ", "))
	}
	fmt.Fprintf(w, "migratectl: %s\n", msg)
	return code
}
