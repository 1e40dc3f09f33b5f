package redisstore

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Defaults applied by [New] to zero-valued [Options] fields.
const (
	// DefaultPrefix is the key prefix of alexedwards/scs's Redis stores
	// (redisstore and goredisstore), so an application using either reads
	// the sessions this store writes, and the other way round.
	DefaultPrefix = "scs:session:"
	// DefaultMaxTTL is the lifetime of a record written with a zero
	// ExpiresAt and of a tombstone written with a zero until. It matches
	// scs's default session lifetime.
	DefaultMaxTTL = 24 * time.Hour
	// DefaultTimeout bounds each call to Redis.
	DefaultTimeout = time.Second
	// DefaultScanCount is the COUNT hint Scan passes to SCAN.
	DefaultScanCount = 100
)

// ErrInvalidOptions is wrapped by the error of [Options.Validate], and so by
// every operation of a Store built from invalid Options.
var ErrInvalidOptions = errors.New("redisstore: invalid options")

// Options configures a [Store]. The zero value is valid and means every
// default.
type Options struct {
	// Prefix is prepended to a session id to form its Redis key. Empty means
	// [DefaultPrefix]. It must not start with '{': sidecar keys do, and the
	// two must never collide (see the package documentation).
	Prefix string

	// MaxTTL is the lifetime of a record written with a zero ExpiresAt and of
	// a tombstone written with a zero until. Zero means [DefaultMaxTTL];
	// negative is invalid. It does not cap explicit expiries: they are kept
	// exactly.
	MaxTTL time.Duration

	// Timeout bounds each call to Redis (one per Get, Set, Delete,
	// DeleteVersion and SetMany batch; one per page for Scan). It applies only when the
	// caller's context has no earlier deadline. Zero means
	// [DefaultTimeout]; negative is invalid. It takes effect only if the
	// client honours context deadlines (see the package documentation on
	// ContextTimeoutEnabled).
	Timeout time.Duration

	// ScanCount is the COUNT hint of each SCAN call: roughly how many keys a
	// page examines, and so how many records one pipeline fetches. Zero
	// means [DefaultScanCount]; negative is invalid.
	ScanCount int

	// LegacySidecars makes the store write sidecars as releases before
	// sidecars carried the expiry did ("d<version>"), which those releases
	// can read: they report a sidecar with an expiry as corrupt. Set it on
	// every instance while a rolling upgrade from such a release is under
	// way with the migration past the local stage, and clear it once no
	// instance runs the old release. Sidecars of both forms are always
	// read; a record whose sidecar lacks the expiry takes a second round
	// trip to read (its data key's PEXPIRETIME).
	LegacySidecars bool

	// Now is the clock that decides whether an expiry has passed and what a
	// zero expiry becomes. Nil means time.Now. Redis removes keys by its own
	// clock; this clock only decides what the store writes and hides
	// records that Redis has not removed yet (see the package
	// documentation on clocks).
	Now func() time.Time
}

// Validate reports whether o is usable. Zero values are valid (they mean
// the defaults). The error wraps [ErrInvalidOptions].
func (o Options) Validate() error {
	var errs []error
	if strings.HasPrefix(o.Prefix, "{") {
		errs = append(errs, errors.New("Prefix must not start with '{' (sidecar keys do)"))
	}
	if o.MaxTTL < 0 {
		errs = append(errs, fmt.Errorf("MaxTTL %v is negative", o.MaxTTL))
	}
	if o.Timeout < 0 {
		errs = append(errs, fmt.Errorf("Timeout %v is negative", o.Timeout))
	}
	if o.ScanCount < 0 {
		errs = append(errs, fmt.Errorf("ScanCount %d is negative", o.ScanCount))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidOptions, errors.Join(errs...))
}

// withDefaults returns o with zero values replaced by the defaults.
func (o Options) withDefaults() Options {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.MaxTTL == 0 {
		o.MaxTTL = DefaultMaxTTL
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.ScanCount == 0 {
		o.ScanCount = DefaultScanCount
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
