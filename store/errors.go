package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrClosed is returned by a store's operations after Close.
var ErrClosed = errors.New("store: closed")

// ErrCorrupt is returned (wrapped) when stored metadata cannot be decoded,
// for example a damaged version sidecar in Redis. The record is not served
// and not overwritten by guesswork.
var ErrCorrupt = errors.New("store: corrupt metadata")

// ErrExpiry is returned (wrapped) by a write whose expiry the store cannot
// represent: after [MaxExpiresAt], or past where a future one is required.
// Nothing is written: an expiry is never silently clamped or lost.
var ErrExpiry = errors.New("store: expiry out of range")

// MaxExpiresAt is the latest expiry every store in this module can keep
// exactly: 9999-12-31T23:59:59.999Z, far inside Redis's PXAT range and
// Unix milliseconds in an int64. Sessions live hours or days; an expiry
// beyond it is a bug in the caller (an overflowed duration, a "never"
// sentinel), and stores refuse it with [ErrExpiry] instead of acknowledging a
// write they would lose.
var MaxExpiresAt = time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC)

// CheckExpiry returns an error wrapping [ErrExpiry] when t is after
// [MaxExpiresAt]. The zero time (MaxTTL from now) and any past instant (a
// delete) are accepted. It is cheap enough for every write's path.
func CheckExpiry(t time.Time) error {
	if t.After(MaxExpiresAt) {
		return expiryError(t)
	}
	return nil
}

func expiryError(t time.Time) error {
	return fmt.Errorf("%w: %s is after %s", ErrExpiry, t.UTC().Format(time.RFC3339), MaxExpiresAt.Format(time.RFC3339))
}

// ErrContended is returned (wrapped) by a write ordered by arrival
// ([LatestWriter]) that gave up because other writers kept storing newer
// versions of the session between its attempts. Nothing was written; the
// store itself answered every attempt, so it says nothing about the
// store's health.
var ErrContended = errors.New("store: session contended")

// ErrStopScan may be returned by a Scan callback to end the scan early; Scan
// then returns nil.
var ErrStopScan = errors.New("store: stop scan")

// ErrTimeout is the cause (context.Cause) of a deadline that a component set
// on behalf of the store, such as the Migrator's short timeout on a
// distributed call: the store did not answer in time. It tells that apart
// from a caller that gave up (its own cancellation or deadline), which says
// nothing about the store's health.
var ErrTimeout = errors.New("store: operation timed out")

// WithTimeout is context.WithTimeout with ErrTimeout as the cause, for
// deadlines set on behalf of a store.
func WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, d, ErrTimeout)
}
