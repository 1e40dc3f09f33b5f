package faultproxy

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// link is one proxied connection: the accepted client side and, once
// dialed, the target side.
type link struct {
	client net.Conn
	ctx    context.Context // done when the link is closed
	cancel context.CancelFunc

	mu     sync.Mutex // guards server and closed
	server net.Conn
	closed bool
}

func newLink(client net.Conn) *link {
	ctx, cancel := context.WithCancel(context.Background())
	return &link{client: client, ctx: ctx, cancel: cancel}
}

// setServer records the dialed target connection, or closes it and reports
// false if the link was closed meanwhile.
func (l *link) setServer(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.server = c
	return true
}

// close closes both ends and wakes every goroutine of the link. It is
// idempotent.
func (l *link) close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	server := l.server
	l.mu.Unlock()

	l.cancel()
	_ = l.client.Close()
	if server != nil {
		_ = server.Close()
	}
}

// chunk is bytes read from one side, due for delivery to the other.
type chunk struct {
	buf *[]byte
	n   int
	due time.Time
}

// serve runs one connection: it waits out a blackhole, dials the target and
// forwards both directions until they end or the link is closed.
func (p *Proxy) serve(l *link) {
	defer p.wg.Done()
	defer p.unregister(l)
	defer l.close()

	if !p.awaitNot(l.ctx, Blackhole) {
		return
	}
	if p.Mode() == Refuse {
		reset(l.client)
		return
	}
	ctx, cancel := context.WithTimeout(l.ctx, p.dialTimeout)
	var d net.Dialer
	server, err := d.DialContext(ctx, "tcp", p.target)
	cancel()
	if err != nil {
		if l.ctx.Err() == nil {
			p.dialErrors.Add(1)
		}
		return
	}
	if !l.setServer(server) {
		_ = server.Close()
		return
	}

	var wg sync.WaitGroup
	for _, dir := range []struct {
		src, dst net.Conn
		bytes    *atomic.Uint64
	}{
		{l.client, server, &p.bytesToTarget},
		{server, l.client, &p.bytesFromTarget},
	} {
		q := make(chan chunk, queueChunks)
		wg.Add(2)
		go func() { defer wg.Done(); p.read(l, dir.src, q) }()
		go func() { defer wg.Done(); p.write(l, dir.dst, q, dir.bytes) }()
	}
	wg.Wait()
}

// read moves chunks from src into q, stamping each with its due time, until
// src ends. At EOF it closes q so the writer half-closes its side after
// delivering what is queued; on any other error it closes the link.
func (p *Proxy) read(l *link, src net.Conn, q chan<- chunk) {
	defer close(q)
	for {
		buf := p.bufs.Get().(*[]byte)
		n, err := src.Read(*buf)
		if n > 0 {
			c := chunk{buf: buf, n: n, due: time.Now().Add(p.delay())}
			select {
			case q <- c:
			case <-l.ctx.Done():
				p.bufs.Put(buf)
				return
			}
		} else {
			p.bufs.Put(buf)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				l.close()
			}
			return
		}
	}
}

// write delivers chunks from q to dst once due and while the Proxy is not
// blackholed. When q is closed and drained it half-closes dst.
func (p *Proxy) write(l *link, dst net.Conn, q <-chan chunk, bytes *atomic.Uint64) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		var (
			c  chunk
			ok bool
		)
		select {
		case c, ok = <-q:
		case <-l.ctx.Done():
			return
		}
		if !ok {
			closeWrite(dst)
			return
		}
		if !p.sleepUntil(l.ctx, timer, c.due) || !p.awaitNot(l.ctx, Blackhole) {
			p.bufs.Put(c.buf)
			return
		}
		n, err := dst.Write((*c.buf)[:c.n])
		p.bufs.Put(c.buf)
		bytes.Add(uint64(n))
		if err != nil {
			l.close()
			return
		}
	}
}

// sleepUntil waits until due, reporting false if ctx ends first.
func (p *Proxy) sleepUntil(ctx context.Context, timer *time.Timer, due time.Time) bool {
	d := time.Until(due)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer.Reset(d)
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// awaitNot waits while the Proxy is in mode m, reporting false if ctx ends
// first.
func (p *Proxy) awaitNot(ctx context.Context, m Mode) bool {
	for {
		st := p.mode.Load()
		if st.mode != m {
			return ctx.Err() == nil
		}
		select {
		case <-st.changed:
		case <-ctx.Done():
			return false
		}
	}
}

// closeWrite half-closes c so the peer sees EOF while the other direction
// may still flow.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return
	}
	_ = c.Close()
}
