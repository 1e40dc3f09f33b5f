package control

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/redis/go-redis/v9"
)

// freezeProxy forwards TCP connections to a target. freeze makes every
// connection open at that moment drop all data in both directions without
// closing, like a half-open connection after a network partition; later
// connections are forwarded normally.
type freezeProxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
	conns  []*proxied
}

type proxied struct {
	client, server net.Conn
	frozen         atomic.Bool
}

func startFreezeProxy(t *testing.T, target string) *freezeProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezeProxy{ln: ln, target: target}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

func (p *freezeProxy) addr() string { return p.ln.Addr().String() }

func (p *freezeProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		pc := &proxied{client: c, server: s}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			s.Close()
			return
		}
		p.conns = append(p.conns, pc)
		p.mu.Unlock()
		p.wg.Go(func() { pc.pipe(c, s) })
		p.wg.Go(func() { pc.pipe(s, c) })
	}
}

func (pc *proxied) pipe(from, to net.Conn) {
	defer from.Close()
	defer to.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		if err != nil {
			return
		}
		if pc.frozen.Load() {
			continue
		}
		if _, err := to.Write(buf[:n]); err != nil {
			return
		}
	}
}

// freeze freezes the open connections and returns how many there were.
func (p *freezeProxy) freeze() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, pc := range p.conns {
		if !pc.frozen.Swap(true) {
			n++
		}
	}
	return n
}

func (p *freezeProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for _, pc := range p.conns {
		pc.client.Close()
		pc.server.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// TestProviderReplacesSilentSubscription freezes the subscription's
// connection: no error ever arrives, notices just stop. With a one-hour
// poll, only the silence check (ping, then reconnect) can bring changes back.
func TestProviderReplacesSilentSubscription(t *testing.T) {
	m, admin := newMini(t)
	proxy := startFreezeProxy(t, m.Addr())
	app := redis.NewClient(&redis.Options{Addr: proxy.addr(), MaxRetries: -1, ContextTimeoutEnabled: true})
	t.Cleanup(func() { app.Close() })

	c := newClient(t, app, Options{PollInterval: time.Hour, Timeout: 200 * time.Millisecond})
	p := c.NewProvider()
	p.healthInterval = 30 * time.Millisecond
	t.Cleanup(p.Shutdown)
	if err := p.Init(openfeature.EvaluationContext{}); err != nil {
		t.Fatal(err)
	}
	subscribed := func() bool { return m.PubSubNumSub(c.Channel())[c.Channel()] == 1 }
	eventually(t, 2*time.Second, "subscribed", subscribed)

	if n := proxy.freeze(); n == 0 {
		t.Fatal("froze no connection")
	}
	writer := newClient(t, admin, Options{})
	s := mustApply(t, writer, to(StageShadow, 0))
	// The first reload may use a frozen pooled connection and time out
	// (STALE, then READY on the retry) before the change shows.
	var e openfeature.Event
	for e.EventType != openfeature.ProviderConfigChange {
		select {
		case e = <-p.EventChannel():
		case <-time.After(3 * time.Second):
			t.Fatal("no PROVIDER_CONFIGURATION_CHANGED within 3s")
		}
	}
	if got, _ := e.EventMetadata["epoch"].(int64); got != int64(s.Epoch) {
		t.Fatalf("got epoch %v, want %d", e.EventMetadata["epoch"], s.Epoch)
	}
	s = mustApply(t, writer, to(StageDual, 0))
	nextEvent(t, p, openfeature.ProviderConfigChange, 3*time.Second)
	if got, _ := p.State(); got.Epoch != s.Epoch {
		t.Fatalf("got epoch %d, want %d", got.Epoch, s.Epoch)
	}
}
