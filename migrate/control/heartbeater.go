package control

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// DefaultHeartbeatInterval is HeartbeaterOptions.Interval's default.
const DefaultHeartbeatInterval = 5 * time.Second

// HeartbeaterOptions configures a [Heartbeater].
type HeartbeaterOptions struct {
	// Collect returns the heartbeat to publish; required. It runs on the
	// Heartbeater's goroutine, never concurrently with itself.
	Collect func() Heartbeat
	// Interval between heartbeats. Default DefaultHeartbeatInterval.
	Interval time.Duration
	// TTL of each heartbeat: an instance silent for TTL drops out of
	// [Client.Instances]. Default three intervals.
	TTL time.Duration
	// OnError, if set, receives each failed publish (after it is logged);
	// it runs on the Heartbeater's goroutine and must not block.
	OnError func(error)
}

// Heartbeater publishes an instance's heartbeat every interval on its own
// goroutine, from Start until Close.
type Heartbeater struct {
	c    *Client
	opts HeartbeaterOptions

	poke   chan struct{}
	ctx    context.Context // canceled by Close: stops the loop and any publish in flight
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	started bool
	closed  bool
	lastID  string // instance last published; touched only by the goroutine until done
}

// NewHeartbeater returns a Heartbeater that is not running yet. A nil
// Collect or a TTL not above Interval returns an error wrapping ErrInvalid.
func (c *Client) NewHeartbeater(opts HeartbeaterOptions) (*Heartbeater, error) {
	if opts.Collect == nil {
		return nil, fmt.Errorf("control: heartbeater: %w", invalid("nil Collect"))
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultHeartbeatInterval
	}
	if opts.TTL == 0 {
		opts.TTL = 3 * opts.Interval
	}
	if opts.TTL <= opts.Interval {
		return nil, fmt.Errorf("control: heartbeater: %w", invalid("ttl %s must exceed interval %s, or the instance blinks out between heartbeats", opts.TTL, opts.Interval))
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Heartbeater{
		c:      c,
		opts:   opts,
		poke:   make(chan struct{}, 1),
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),
	}, nil
}

// Start publishes a first heartbeat at once and then one every interval.
// Calls after the first, and calls after Close, do nothing.
func (h *Heartbeater) Start() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.started || h.closed {
		return
	}
	h.started = true
	go h.run()
}

// Trigger asks for a heartbeat now, for instance right after the instance
// applied a new state. It never blocks; triggers coalesce.
func (h *Heartbeater) Trigger() {
	select {
	case h.poke <- struct{}{}:
	default:
	}
}

// Close stops the goroutine, waits for it, and removes the instance's
// heartbeat so that it leaves the instance list at once (bounded by
// Options.Timeout). It is idempotent; the error is the removal's.
func (h *Heartbeater) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	started := h.started
	h.mu.Unlock()
	h.cancel()
	if !started {
		return nil
	}
	<-h.done
	if h.lastID == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.c.opts.Timeout)
	defer cancel()
	return h.c.RemoveHeartbeat(ctx, h.lastID)
}

func (h *Heartbeater) run() {
	defer close(h.done)
	t := time.NewTicker(h.opts.Interval)
	defer t.Stop()
	for {
		h.beat()
		select {
		case <-h.ctx.Done():
			return
		case <-t.C:
		case <-h.poke:
		}
	}
}

// beat collects and publishes one heartbeat.
func (h *Heartbeater) beat() {
	hb := h.opts.Collect()
	h.lastID = hb.InstanceID // before publishing: a publish cut short by Close may still land
	ctx, cancel := context.WithTimeout(h.ctx, h.c.opts.Timeout)
	defer cancel()
	if err := h.c.PublishHeartbeat(ctx, hb, h.opts.TTL); err != nil {
		if h.ctx.Err() != nil {
			return // closing; the failure is Close's doing
		}
		h.c.log.Warn("publishing heartbeat", "instance", hb.InstanceID, "err", err)
		if h.opts.OnError != nil {
			h.opts.OnError(err)
		}
	}
}
