package store

import (
	"context"
	"errors"
	"time"
)

// ErrClosed is returned by a store's operations after Close.
var ErrClosed = errors.New("store: closed")

// ErrCorrupt is returned (wrapped) when stored metadata cannot be decoded,
// for example a damaged version sidecar in Redis. The record is not served
// and not overwritten by guesswork.
var ErrCorrupt = errors.New("store: corrupt metadata")

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
