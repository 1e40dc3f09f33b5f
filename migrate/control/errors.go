package control

import (
	"errors"
	"fmt"
)

var (
	// ErrConflict is returned by [Client.Update] when the stored epoch is not
	// the expected one: another writer changed the state first. Read the state
	// again and decide anew; [Client.Apply] does that a bounded number of times.
	ErrConflict = errors.New("control: conflict: the state changed concurrently")

	// ErrCorruptState is returned (wrapped, with what is wrong) when the
	// stored state cannot be decoded or holds values this version does not
	// accept: bad JSON, an unknown stage, an out-of-range percent. Instances
	// keep serving their last good state; an operator repairs the key with
	// [Client.Repair].
	ErrCorruptState = errors.New("control: corrupt state")

	// ErrInvalid is returned (wrapped, with what is wrong) when a caller hands
	// in a state, request or record that fails validation. Nothing is written.
	ErrInvalid = errors.New("control: invalid")

	// ErrRefused is returned (wrapped, with the rule and the way out) when a
	// requested change breaks a migration rule: a skipped stage, leaving
	// complete without force, completing without a clean diff, resuming when
	// nothing was rolled back. The CLI maps it to its "refused" exit code.
	ErrRefused = errors.New("control: refused")

	// ErrNoChange may be returned by the function given to [Client.Apply] to
	// leave the state as it is; Apply then returns the current state and a
	// nil error without writing, notifying or auditing.
	ErrNoChange = errors.New("control: no change")
)

// refused returns an error wrapping ErrRefused with a formatted explanation.
func refused(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// invalid returns an error wrapping ErrInvalid with a formatted explanation.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
