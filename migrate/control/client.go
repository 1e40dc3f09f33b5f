package control

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults applied by [New] to zero Options fields.
const (
	DefaultPrefix       = "sessionmigrate"
	DefaultPollInterval = time.Second
	DefaultTimeout      = 2 * time.Second
	DefaultAuditMaxLen  = 10000
	DefaultApplyRetries = 10
)

// Options configures a [Client]. Every zero field has a documented default.
type Options struct {
	// Prefix names the control plane. All keys are "{Prefix}:<name>", one
	// hash tag, so they share a Redis Cluster slot and the compare-and-set
	// script may touch them together. It must not contain '{' or '}'.
	// Default DefaultPrefix.
	Prefix string
	// Logger receives state changes and background errors. Default: discard.
	Logger *slog.Logger
	// Clock stamps states, audit entries, heartbeats and diff results.
	// Default time.Now.
	Clock func() time.Time
	// PollInterval is how often a [Provider] re-reads the state as a safety
	// net for lost pub/sub notices. Default DefaultPollInterval.
	PollInterval time.Duration
	// Timeout bounds each Redis call made by background loops (provider
	// reloads, heartbeats) through its context. go-redis honours context
	// deadlines on sockets only with ContextTimeoutEnabled; without it the
	// client's ReadTimeout and WriteTimeout bound the calls instead.
	// Default DefaultTimeout.
	Timeout time.Duration
	// AuditMaxLen is the approximate number of audit entries kept
	// (XADD MAXLEN ~). Default DefaultAuditMaxLen.
	AuditMaxLen int64
	// ApplyRetries is how many times [Client.Apply] tries its
	// compare-and-set before giving up with ErrConflict. Default
	// DefaultApplyRetries.
	ApplyRetries int
	// DrainWindow, if positive, is how long the state must have been ramp at
	// 100% before [Client.CheckTransition] lets it become complete, so that
	// sessions written before dual writes began have expired. Zero disables
	// the check.
	DrainWindow time.Duration
}

// Client reads and writes the control plane. It is safe for concurrent use.
// It starts no goroutine itself and does not own the Redis client: the
// caller closes that after every Provider and Heartbeater built on this
// Client is shut down.
type Client struct {
	rdb  redis.UniversalClient
	opts Options
	log  *slog.Logger
	keys keys
}

// keys holds every Redis key and channel of one control plane.
type keys struct {
	state, audit, changes, lastDiff, instances, instancePrefix string
}

func newKeys(prefix string) keys {
	tag := "{" + prefix + "}:"
	return keys{
		state:          tag + "state",
		audit:          tag + "audit",
		changes:        tag + "changes",
		lastDiff:       tag + "lastdiff",
		instances:      tag + "instances",
		instancePrefix: tag + "instance:",
	}
}

// New returns a Client over rdb, which may be a standalone, sentinel-backed
// or cluster client. It validates opts and fills defaults; it does not talk
// to Redis.
func New(rdb redis.UniversalClient, opts Options) (*Client, error) {
	if rdb == nil {
		return nil, errors.New("control: new: nil redis client")
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if strings.ContainsAny(opts.Prefix, "{}") {
		return nil, fmt.Errorf("control: new: prefix %q must not contain '{' or '}' (it becomes the hash tag)", opts.Prefix)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.PollInterval < 0 || opts.Timeout < 0 || opts.AuditMaxLen < 0 || opts.ApplyRetries < 0 || opts.DrainWindow < 0 {
		return nil, errors.New("control: new: negative PollInterval, Timeout, AuditMaxLen, ApplyRetries or DrainWindow")
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.AuditMaxLen == 0 {
		opts.AuditMaxLen = DefaultAuditMaxLen
	}
	if opts.ApplyRetries == 0 {
		opts.ApplyRetries = DefaultApplyRetries
	}
	return &Client{
		rdb:  rdb,
		opts: opts,
		log:  opts.Logger.With("component", "sessionmigrate/control"),
		keys: newKeys(opts.Prefix),
	}, nil
}

// Channel returns the pub/sub channel on which every change publishes its
// new epoch.
func (c *Client) Channel() string { return c.keys.changes }

// StateKey returns the Redis key holding the state JSON.
func (c *Client) StateKey() string { return c.keys.state }

// now returns the injected clock's time in UTC.
func (c *Client) now() time.Time { return c.opts.Clock().UTC() }
