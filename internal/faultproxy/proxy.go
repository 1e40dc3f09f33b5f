package faultproxy

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// chunkSize is the largest read forwarded as one delayed unit.
	chunkSize = 16 << 10
	// queueChunks bounds the chunks in flight per direction of a connection.
	queueChunks = 16
	// acceptBackoff is the pause after a failed Accept (for example EMFILE).
	acceptBackoff = 5 * time.Millisecond
	// defaultDialTimeout bounds dialing the target.
	defaultDialTimeout = 5 * time.Second
)

// Proxy forwards TCP connections from a loopback listener to a target and
// injects faults into them. All methods are safe for concurrent use.
type Proxy struct {
	target      string
	ln          net.Listener
	dialTimeout time.Duration

	latency atomic.Pointer[latency]
	mode    atomic.Pointer[modeState]
	modeMu  sync.Mutex // serialises SetMode

	rngMu sync.Mutex // guards rng, which is not safe for concurrent use
	rng   *rand.Rand

	bufs sync.Pool // *[]byte of chunkSize

	mu     sync.Mutex // guards links and closed
	links  map[*link]struct{}
	closed bool

	done      chan struct{} // closed by Close
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup // every goroutine the Proxy started

	accepted, refused, cut, dialErrors atomic.Uint64
	bytesToTarget, bytesFromTarget     atomic.Uint64
}

// latency is one latency setting, replaced as a whole.
type latency struct{ fixed, jitter time.Duration }

// Option configures a Proxy at construction.
type Option func(*Proxy)

// WithSeed seeds the generator behind jitter. The default seed is 0.
func WithSeed(seed uint64) Option {
	return func(p *Proxy) { p.rng = newRand(seed) }
}

// WithDialTimeout bounds how long dialing the target may take before the
// client connection is closed. Non-positive values keep the default, 5s.
func WithDialTimeout(d time.Duration) Option {
	return func(p *Proxy) {
		if d > 0 {
			p.dialTimeout = d
		}
	}
}

// New starts a Proxy in [Pass] mode listening on 127.0.0.1 at a free port
// and forwarding to target ("host:port"). The target is dialed per accepted
// connection, not here, so it may start later. The caller must call Close.
func New(target string, opts ...Option) (*Proxy, error) {
	if _, _, err := net.SplitHostPort(target); err != nil {
		return nil, fmt.Errorf("faultproxy: target %q: %w", target, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p := &Proxy{
		target:      target,
		ln:          ln,
		dialTimeout: defaultDialTimeout,
		rng:         newRand(0),
		links:       map[*link]struct{}{},
		done:        make(chan struct{}),
	}
	p.bufs.New = func() any { b := make([]byte, chunkSize); return &b }
	for _, opt := range opts {
		opt(p)
	}
	p.latency.Store(&latency{})
	p.mode.Store(&modeState{mode: Pass, changed: make(chan struct{})})
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr returns the "127.0.0.1:port" address clients should dial.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Target returns the address the Proxy forwards to.
func (p *Proxy) Target() string { return p.target }

// SetLatency delays every chunk read afterwards, in each direction, by d
// plus a uniformly random share of jitter in [0, jitter). Negative values
// count as zero; SetLatency(0, 0) restores immediate forwarding.
func (p *Proxy) SetLatency(d, jitter time.Duration) {
	p.latency.Store(&latency{fixed: max(d, 0), jitter: max(jitter, 0)})
}

// SetMode switches the Proxy to m; see [Mode]. It returns an error, and
// changes nothing, for an undeclared mode.
func (p *Proxy) SetMode(m Mode) error {
	if !m.valid() {
		return fmt.Errorf("faultproxy: set mode: unknown %v", m)
	}
	p.modeMu.Lock()
	defer p.modeMu.Unlock()
	old := p.mode.Load()
	if old.mode == m {
		return nil
	}
	p.mode.Store(&modeState{mode: m, changed: make(chan struct{})})
	close(old.changed)
	return nil
}

// Mode returns the current mode.
func (p *Proxy) Mode() Mode { return p.mode.Load().mode }

// CutAll closes both ends of every current connection, including those held
// by a blackhole, and returns how many it closed. New connections are
// handled by the current mode as usual.
func (p *Proxy) CutAll() int {
	links := p.snapshot()
	for _, l := range links {
		l.close()
	}
	p.cut.Add(uint64(len(links)))
	return len(links)
}

// Close stops accepting, closes every connection and waits until every
// goroutine of the Proxy has returned. It is idempotent; later calls return
// the first call's error.
func (p *Proxy) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		close(p.done)
		if err := p.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			p.closeErr = fmt.Errorf("faultproxy: close: %w", err)
		}
		for _, l := range p.snapshot() {
			l.close()
		}
		p.wg.Wait()
	})
	return p.closeErr
}

// Stats counts what a Proxy has done since New.
type Stats struct {
	// Accepted is every connection accepted, in any mode.
	Accepted uint64
	// Refused is the connections reset at once in Refuse mode.
	Refused uint64
	// Active is the connections open now: held, dialing or forwarding.
	Active int
	// Cut is the connections closed by CutAll.
	Cut uint64
	// DialErrors is the connections closed because the target could not
	// be dialed.
	DialErrors uint64
	// BytesToTarget and BytesFromTarget are the bytes delivered in each
	// direction.
	BytesToTarget, BytesFromTarget uint64
}

// Stats returns the Proxy's counters. Each is read atomically; the set is
// not one snapshot while traffic flows.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	active := len(p.links)
	p.mu.Unlock()
	return Stats{
		Accepted:        p.accepted.Load(),
		Refused:         p.refused.Load(),
		Active:          active,
		Cut:             p.cut.Load(),
		DialErrors:      p.dialErrors.Load(),
		BytesToTarget:   p.bytesToTarget.Load(),
		BytesFromTarget: p.bytesFromTarget.Load(),
	}
}

// acceptLoop accepts connections until the listener is closed.
func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	backoff := time.NewTimer(0)
	defer backoff.Stop()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			select {
			case <-p.done:
				return
			default:
			}
			backoff.Reset(acceptBackoff)
			select {
			case <-p.done:
				return
			case <-backoff.C:
			}
			continue
		}
		p.accepted.Add(1)
		if p.Mode() == Refuse {
			p.refused.Add(1)
			reset(c)
			continue
		}
		l := newLink(c)
		if !p.register(l) {
			reset(c)
			return
		}
		go p.serve(l)
	}
}

// register adds l to the live links and counts its goroutine, or reports
// false once Close has begun.
func (p *Proxy) register(l *link) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.links[l] = struct{}{}
	p.wg.Add(1)
	return true
}

func (p *Proxy) unregister(l *link) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.links, l)
}

// snapshot returns the live links, so they can be closed without holding mu.
func (p *Proxy) snapshot() []*link {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*link, 0, len(p.links))
	for l := range p.links {
		out = append(out, l)
	}
	return out
}

// delay returns the latency to add to a chunk read now.
func (p *Proxy) delay() time.Duration {
	lat := p.latency.Load()
	d := lat.fixed
	if lat.jitter > 0 {
		p.rngMu.Lock()
		d += time.Duration(p.rng.Int64N(int64(lat.jitter)))
		p.rngMu.Unlock()
	}
	return d
}

func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0xfa17_9e0c_5eed_0001))
}

// reset closes c with an RST instead of a FIN where possible, so the client
// sees "connection reset" as from a refusing host.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}
