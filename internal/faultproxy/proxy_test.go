package faultproxy_test

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sessionmigrate/sessionmigrate/internal/faultproxy"
)

// newProxy starts a proxy to target that is closed on cleanup.
func newProxy(t *testing.T, target string, opts ...faultproxy.Option) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.New(target, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return p
}

func TestNewRejectsBadTarget(t *testing.T) {
	for _, target := range []string{"", "no-port", "127.0.0.1"} {
		if p, err := faultproxy.New(target); err == nil {
			p.Close()
			t.Errorf("New(%q): got nil error, want one", target)
		}
	}
}

func TestPass(t *testing.T) {
	e := startEcho(t)
	p := newProxy(t, e.addr())
	c := dial(t, p.Addr())
	got, err := roundTrip(c, "hello", 5*time.Second)
	if err != nil || got != "hello" {
		t.Fatalf("got (%q, %v), want (\"hello\", nil)", got, err)
	}
	waitFor(t, "byte counters", func() bool {
		st := p.Stats()
		return st.BytesToTarget == 5 && st.BytesFromTarget == 5
	})
	st := p.Stats()
	if st.Accepted != 1 || st.Active != 1 {
		t.Errorf("stats: got accepted %d active %d, want 1 and 1", st.Accepted, st.Active)
	}
	if got := p.Mode(); got != faultproxy.Pass {
		t.Errorf("initial mode: got %v, want pass", got)
	}
}

func TestLargeTransferIsExact(t *testing.T) {
	e := startEcho(t)
	p := newProxy(t, e.addr())
	p.SetLatency(time.Millisecond, time.Millisecond)
	c := dial(t, p.Addr())
	want := make([]byte, 1<<20)
	rand.Read(want)
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(want)
		if err == nil {
			err = c.CloseWrite()
		}
		werr <- err
	}()
	if err := c.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("write: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("echoed %d bytes, want the %d bytes sent, in order", len(got), len(want))
	}
}

func TestHalfClosePropagates(t *testing.T) {
	e := startEcho(t)
	p := newProxy(t, e.addr())
	c := dial(t, p.Addr())
	if _, err := c.Write([]byte("bye")); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "bye" {
		t.Errorf("got (%q, %v), want (\"bye\", nil) then EOF", got, err)
	}
	waitFor(t, "the link to close", func() bool { return p.Stats().Active == 0 })
}

func TestLatency(t *testing.T) {
	tests := []struct {
		name          string
		fixed, jitter time.Duration
		min           time.Duration // lower bound on one round trip
	}{
		{"none", 0, 0, 0},
		{"fixed", 50 * time.Millisecond, 0, 100 * time.Millisecond},
		{"jitter", 20 * time.Millisecond, 30 * time.Millisecond, 40 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startEcho(t)
			p := newProxy(t, e.addr())
			c := dial(t, p.Addr())
			if _, err := roundTrip(c, "warm", 5*time.Second); err != nil {
				t.Fatal(err)
			}
			p.SetLatency(tt.fixed, tt.jitter)
			start := time.Now()
			if _, err := roundTrip(c, "ping", 5*time.Second); err != nil {
				t.Fatal(err)
			}
			if got := time.Since(start); got < tt.min {
				t.Errorf("round trip: got %v, want >= %v", got, tt.min)
			}
		})
	}
}

// Chunks are delayed from when they were read, so a burst is delayed once,
// not once per chunk queued ahead of it.
func TestLatencyIsNotCumulative(t *testing.T) {
	const (
		msgs = 10
		lat  = 100 * time.Millisecond
	)
	e := startEcho(t)
	p := newProxy(t, e.addr())
	c := dial(t, p.Addr())
	if err := c.SetNoDelay(true); err != nil {
		t.Fatal(err)
	}
	p.SetLatency(lat, 0)
	start := time.Now()
	if err := c.SetDeadline(start.Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	for range msgs {
		if _, err := c.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		// Keep the writes apart so they travel as separate chunks.
		time.Sleep(2 * time.Millisecond)
	}
	if _, err := io.ReadFull(c, make([]byte, msgs)); err != nil {
		t.Fatal(err)
	}
	got := time.Since(start)
	if got < 2*lat {
		t.Errorf("elapsed: got %v, want >= %v", got, 2*lat)
	}
	// Serial per-chunk sleeping would take about msgs*lat.
	if limit := msgs * lat / 2; got > limit {
		t.Errorf("elapsed: got %v, want < %v (latency must not accumulate)", got, limit)
	}
}

func TestCutAll(t *testing.T) {
	e := startEcho(t)
	p := newProxy(t, e.addr())
	c1, c2 := dial(t, p.Addr()), dial(t, p.Addr())
	for _, c := range []net.Conn{c1, c2} {
		if _, err := roundTrip(c, "up", 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if got := p.CutAll(); got != 2 {
		t.Errorf("CutAll: got %d, want 2", got)
	}
	for i, c := range []net.Conn{c1, c2} {
		if _, err := roundTrip(c, "after", 5*time.Second); err == nil || isTimeout(err) {
			t.Errorf("conn %d after cut: got %v, want a connection error", i, err)
		}
	}
	waitFor(t, "links to close", func() bool { return p.Stats().Active == 0 })
	waitFor(t, "the target to see the cut", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return len(e.conns) == 0
	})
	if got := p.Stats().Cut; got != 2 {
		t.Errorf("cut counter: got %d, want 2", got)
	}
	// New connections are unaffected.
	if got, err := roundTrip(dial(t, p.Addr()), "again", 5*time.Second); err != nil || got != "again" {
		t.Errorf("new conn: got (%q, %v), want (\"again\", nil)", got, err)
	}
}

func TestRefuse(t *testing.T) {
	e := startEcho(t)
	p := newProxy(t, e.addr())
	old := dial(t, p.Addr())
	if _, err := roundTrip(old, "up", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.SetMode(faultproxy.Refuse); err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second)
	if err == nil {
		defer c.Close()
		_, err = roundTrip(c, "x", 5*time.Second)
	}
	if err == nil || isTimeout(err) {
		t.Errorf("new conn while refusing: got %v, want a connection error", err)
	}
	if got := p.Stats().Refused; got != 1 {
		t.Errorf("refused: got %d, want 1", got)
	}
	if got, err := roundTrip(old, "still", 5*time.Second); err != nil || got != "still" {
		t.Errorf("existing conn: got (%q, %v), want (\"still\", nil)", got, err)
	}
	if err := p.SetMode(faultproxy.Pass); err != nil {
		t.Fatal(err)
	}
	if got, err := roundTrip(dial(t, p.Addr()), "back", 5*time.Second); err != nil || got != "back" {
		t.Errorf("after pass: got (%q, %v), want (\"back\", nil)", got, err)
	}
}

func TestBlackhole(t *testing.T) {
	const hold = 100 * time.Millisecond
	e := startEcho(t)
	p := newProxy(t, e.addr())
	old := dial(t, p.Addr())
	if _, err := roundTrip(old, "up", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.SetMode(faultproxy.Blackhole); err != nil {
		t.Fatal(err)
	}
	fresh := dial(t, p.Addr())
	for name, c := range map[string]net.Conn{"existing": old, "new": fresh} {
		start := time.Now()
		_, err := roundTrip(c, "x", hold)
		if !isTimeout(err) {
			t.Errorf("%s conn: got %v, want a timeout", name, err)
		}
		if got := time.Since(start); got < hold {
			t.Errorf("%s conn: failed after %v, want >= %v", name, got, hold)
		}
	}
	if got := e.accepted.Load(); got != 1 {
		t.Errorf("target connections: got %d, want 1 (held connections must not be dialed)", got)
	}
	if got := p.Stats().Active; got != 2 {
		t.Errorf("active: got %d, want 2", got)
	}

	// Healing delivers what was held, in order.
	if err := p.SetMode(faultproxy.Pass); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]net.Conn{"existing": old, "new": fresh} {
		if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "x" {
			t.Errorf("%s conn after heal: got (%q, %v), want (\"x\", nil)", name, buf, err)
		}
	}
}

func TestBlackholeThenCut(t *testing.T) {
	e := startEcho(t)
	p := newProxy(t, e.addr())
	if err := p.SetMode(faultproxy.Blackhole); err != nil {
		t.Fatal(err)
	}
	c := dial(t, p.Addr())
	waitFor(t, "the held link", func() bool { return p.Stats().Active == 1 })
	if got := p.CutAll(); got != 1 {
		t.Errorf("CutAll: got %d, want 1", got)
	}
	if _, err := roundTrip(c, "x", 5*time.Second); err == nil || isTimeout(err) {
		t.Errorf("got %v, want a connection error", err)
	}
}

func TestBlackholeThenRefuse(t *testing.T) {
	e := startEcho(t)
	p := newProxy(t, e.addr())
	if err := p.SetMode(faultproxy.Blackhole); err != nil {
		t.Fatal(err)
	}
	c := dial(t, p.Addr())
	waitFor(t, "the held link", func() bool { return p.Stats().Active == 1 })
	if err := p.SetMode(faultproxy.Refuse); err != nil {
		t.Fatal(err)
	}
	if _, err := roundTrip(c, "x", 5*time.Second); err == nil || isTimeout(err) {
		t.Errorf("got %v, want a connection error", err)
	}
	if got := e.accepted.Load(); got != 0 {
		t.Errorf("target connections: got %d, want 0", got)
	}
}

func TestDialError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	p := newProxy(t, dead)
	_, err = roundTrip(dial(t, p.Addr()), "x", 5*time.Second)
	if err == nil || isTimeout(err) {
		t.Errorf("got %v, want a connection error", err)
	}
	waitFor(t, "the dial error", func() bool { return p.Stats().DialErrors == 1 })
}

func TestSetMode(t *testing.T) {
	p := newProxy(t, "127.0.0.1:1")
	if err := p.SetMode(faultproxy.Mode(7)); err == nil {
		t.Error("SetMode(7): got nil, want an error")
	}
	for _, m := range []faultproxy.Mode{faultproxy.Blackhole, faultproxy.Blackhole, faultproxy.Refuse, faultproxy.Pass} {
		if err := p.SetMode(m); err != nil {
			t.Fatal(err)
		}
		if got := p.Mode(); got != m {
			t.Errorf("got %v, want %v", got, m)
		}
	}
}

func TestModeString(t *testing.T) {
	tests := []struct {
		m    faultproxy.Mode
		want string
	}{
		{faultproxy.Pass, "pass"},
		{faultproxy.Blackhole, "blackhole"},
		{faultproxy.Refuse, "refuse"},
		{faultproxy.Mode(9), "mode(9)"},
	}
	for _, tt := range tests {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestCloseStopsEverything(t *testing.T) {
	e := startEcho(t)
	// The echo server is cleaned up after this check; ignore its listener.
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	p, err := faultproxy.New(e.addr())
	if err != nil {
		t.Fatal(err)
	}
	p.SetLatency(time.Hour, 0) // a chunk waiting out its delay
	busy := dial(t, p.Addr())
	if _, err := busy.Write([]byte("stuck")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the busy link", func() bool { return p.Stats().Active == 1 })
	if err := p.SetMode(faultproxy.Blackhole); err != nil {
		t.Fatal(err)
	}
	held := dial(t, p.Addr())
	waitFor(t, "the held link", func() bool { return p.Stats().Active == 2 })

	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
	if got := p.Stats().Active; got != 0 {
		t.Errorf("active after Close: got %d, want 0", got)
	}
	for name, c := range map[string]net.Conn{"busy": busy, "held": held} {
		if _, err := roundTrip(c, "x", 5*time.Second); err == nil || isTimeout(err) {
			t.Errorf("%s conn after Close: got %v, want a connection error", name, err)
		}
	}
	if c, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		c.Close()
		t.Error("dial after Close: got a connection, want refused")
	}
}
