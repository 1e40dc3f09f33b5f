package memstore

import (
	"math/bits"
	"time"
)

// Defaults applied by [New]. An option given an invalid value falls back to
// the documented default instead of failing, because New has no error
// result.
const (
	// DefaultMaxTTL is the lifetime of a record or tombstone written with a
	// zero expiry. It matches scs's default session lifetime.
	DefaultMaxTTL = 24 * time.Hour
	// DefaultSweepInterval is how often the background sweeper removes
	// expired records and tombstones.
	DefaultSweepInterval = time.Minute
	// DefaultShards is the number of independently locked shards.
	DefaultShards = 64
	// MaxShards is the largest shard count [WithShards] accepts.
	MaxShards = 1 << 16
)

// Option configures a [Store]. Options are applied in order; a nil Option
// is ignored.
type Option func(*options)

type options struct {
	now           func() time.Time
	maxTTL        time.Duration
	sweepInterval time.Duration
	maxEntries    int
	shards        int
}

func defaultOptions() options {
	return options{
		now:           time.Now,
		maxTTL:        DefaultMaxTTL,
		sweepInterval: DefaultSweepInterval,
		shards:        DefaultShards,
	}
}

// WithClock sets the clock the store judges expiry by, except in [Store.SetAt],
// which takes the caller's reading (the Migrator passes its own clock's:
// give both the same clock). Tests pass a fake clock and call [Store.Sweep]
// themselves. A nil clock means time.Now. The
// background sweeper's interval is always measured in real time; only its
// notion of "expired" comes from the clock.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithMaxTTL sets the lifetime given to a record written with a zero
// ExpiresAt and to a tombstone written with a zero until. A value <= 0 means
// [DefaultMaxTTL].
func WithMaxTTL(d time.Duration) Option {
	return func(o *options) { o.maxTTL = d }
}

// WithSweepInterval sets how often a background goroutine removes expired
// records and tombstones. A value <= 0 starts no goroutine: expiry is still
// enforced on every read, but memory held by expired entries is reclaimed
// only by [Store.Sweep], by overwrites and by eviction.
func WithSweepInterval(d time.Duration) Option {
	return func(o *options) { o.sweepInterval = d }
}

// WithMaxEntries bounds the number of stored entries (records and
// tombstones). The bound is enforced per shard as ceil(n/shards), so the
// store may start evicting a little before it holds n entries when ids hash
// unevenly, and holds at most shards*ceil(n/shards) entries. A value <= 0
// means unbounded (the default).
//
// When a write would add an entry to a full shard, one entry of that shard is
// evicted first, chosen from a small sample (see the package documentation
// for the policy and why). [Store.Evictions] counts evictions of unexpired
// entries so operators can alert on them.
func WithMaxEntries(n int) Option {
	return func(o *options) { o.maxEntries = n }
}

// WithShards sets the number of independently locked shards. It is rounded
// up to a power of two and capped at [MaxShards]; a value <= 0 means
// [DefaultShards]. More shards lower lock contention between goroutines
// working on different ids.
func WithShards(n int) Option {
	return func(o *options) { o.shards = n }
}

// normalize replaces invalid values with their documented defaults.
func (o *options) normalize() {
	if o.now == nil {
		o.now = time.Now
	}
	if o.maxTTL <= 0 {
		o.maxTTL = DefaultMaxTTL
	}
	switch {
	case o.shards <= 0:
		o.shards = DefaultShards
	case o.shards > MaxShards:
		o.shards = MaxShards
	default:
		o.shards = 1 << bits.Len(uint(o.shards-1))
	}
	if o.maxEntries < 0 {
		o.maxEntries = 0
	}
}

// shardCapacity is the per-shard entry bound, 0 for unbounded.
func (o *options) shardCapacity() int {
	if o.maxEntries == 0 {
		return 0
	}
	return (o.maxEntries + o.shards - 1) / o.shards
}
