package embedredis

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/alicebob/miniredis/v2/server"
)

// Options configure a Server. The zero value is ready to use.
type Options struct {
	// Now is the server's clock: the time every command runs at, truncated
	// to the millisecond. Nil means time.Now. A clock that goes backward is
	// held where it was until it passes its latest reading again.
	Now func() time.Time
}

// Server is a running in-process Redis. Its methods are safe for
// concurrent use.
type Server struct {
	m    *miniredis.Miniredis
	srv  *server.Server
	addr string
	now  func() time.Time

	// clock is held while a client's command runs (see the package
	// documentation): it serializes them, and the fields below, and
	// miniredis's clock, change only under it.
	clock sync.Mutex
	clk   clock

	// pass is the connection whose next command the hook lets through: the
	// command the hook itself dispatches, after it prepared it.
	pass atomic.Pointer[server.Peer]

	clients sync.Map // *server.Peer -> *client, for client connections only

	closeOnce sync.Once
}

// client is the state the hook keeps for one client connection. Only that
// connection's goroutine touches it: miniredis runs a connection's
// commands, and its disconnect callbacks, one after the other on one
// goroutine.
type client struct {
	multi   bool // between MULTI and EXEC or DISCARD
	holding bool // holds Server.clock until the transaction ends
}

// Start starts a Server on a free 127.0.0.1 port. The caller must call
// Close.
func Start(opts Options) (*Server, error) {
	s := &Server{m: miniredis.NewMiniRedis(), now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	s.clk.init(s.m, s.now().Truncate(time.Millisecond))
	if err := s.m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("embedredis: start: %w", err)
	}
	s.srv = s.m.Server()
	s.addr = s.m.Addr()
	// No client has the address yet, so no command runs without the hook.
	s.srv.SetPreHook(s.hook)
	return s, nil
}

// Addr returns the server's "127.0.0.1:port" address.
func (s *Server) Addr() string { return s.addr }

// Close stops the server and closes every client connection. Calling it
// again does nothing. It always returns nil.
func (s *Server) Close() error {
	s.closeOnce.Do(s.m.Close)
	return nil
}

// hook runs before miniredis dispatches any command, a client's or a Lua
// script's (server.Hook: returning true means the command was handled). It
// runs a client's command itself, holding the clock lock, and prepares a
// script's call, which runs inside its EVAL. Blocking commands run outside
// the lock, which they would hold while they wait; they carry no time.
func (s *Server) hook(c *server.Peer, cmd string, args ...string) bool {
	if s.pass.Load() == c {
		return false
	}
	cl := s.client(c)
	if cl == nil {
		return s.scriptCall(c, cmd, args)
	}
	if !cl.holding {
		if !cl.multi && blocking(cmd, args) {
			return false
		}
		s.clock.Lock()
	}
	s.command(c, cl, cmd, args)
	if !cl.holding {
		s.clock.Unlock()
	}
	return true
}

// command runs a client's command, with the clock lock held.
func (s *Server) command(c *server.Peer, cl *client, cmd string, args []string) {
	var now time.Time
	switch {
	case cl.holding:
		// The transaction runs at the time it froze (see client.holding):
		// its scripts' calls too.
		now = s.clk.latest
	default:
		now = s.clk.read(s.now())
	}
	switch {
	case cl.holding:
		s.clk.noteQueued(cmd, args)
	case cl.multi && cmd == "EXEC":
		s.clk.advance(now)
	case cl.multi && absoluteExpiry(cmd, args):
		// miniredis parses this expiry now and stores it at EXEC: the
		// clock must not move in between. Move it to now first, so that
		// an expiry already past is one at EXEC too.
		s.clk.advance(now)
		cl.holding = true
		s.clk.noteQueued(cmd, args)
	case cl.multi:
		// Queued as it is: EXEC moves the clock, so a relative expiry
		// counts from EXEC, as in Redis.
		s.clk.noteQueued(cmd, args)
	default:
		s.clk.expireDue(now)
		var needsClock bool
		cmd, args, _, needsClock = s.clk.prepare(cmd, args)
		if needsClock {
			s.clk.advance(now)
		}
	}
	switch {
	case roundsSeconds(cmd, args) && !cl.multi:
		s.seconds(c, cmd, args)
	case cmd == "MULTI" && c.Ctx != nil:
		// MULTI fails on a connection in pub/sub mode, or already in a
		// transaction: see whether it started one.
		reply := s.capture(c, cmd, args)
		cl.multi = cl.multi || reply == "+OK\r\n"
		c.WriteRaw(reply)
	case cmd == "MULTI":
		// A connection's first command: nothing can make it fail.
		s.dispatch(c, cmd, args)
		cl.multi = len(args) == 0
	default:
		s.dispatch(c, cmd, args)
	}
	if cmd == "EXEC" || cmd == "DISCARD" {
		cl.multi = false
		cl.holding = false
	}
	s.clk.compact()
}

// scriptCall prepares a call that a Lua script makes. The script's EVAL
// holds the clock lock on this goroutine, so the call may use the clock's
// state but not move miniredis's clock (miniredis is locked).
func (s *Server) scriptCall(c *server.Peer, cmd string, args []string) bool {
	newCmd, newArgs, changed, needsClock := s.clk.prepare(cmd, args)
	if needsClock && s.clk.stale() {
		// Only a script judged by its source not to read the time runs on
		// a clock that lags (see classifyScript): it cannot get here.
		c.WriteError("ERR embedredis: " + cmd + " reads the time in a script judged not to")
		return true
	}
	switch {
	case roundsSeconds(cmd, args):
		s.seconds(c, cmd, args)
	case changed:
		s.dispatch(c, newCmd, newArgs)
	default:
		return false
	}
	return true
}

// roundsSeconds reports whether cmd is a TTL or EXPIRETIME that Redis
// answers rounded to the nearest second and miniredis truncated.
func roundsSeconds(cmd string, args []string) bool {
	return (cmd == "TTL" || cmd == "EXPIRETIME") && len(args) == 1
}

// seconds answers TTL or EXPIRETIME as Redis does: the answer in
// milliseconds (PTTL, PEXPIRETIME) rounded to the nearest second.
func (s *Server) seconds(c *server.Peer, cmd string, args []string) {
	reply := s.capture(c, "P"+cmd, args)
	if digits, ok := strings.CutPrefix(reply, ":"); ok {
		if n, err := strconv.Atoi(strings.TrimSuffix(digits, "\r\n")); err == nil {
			if n >= 0 {
				n = (n + 500) / 1000
			}
			c.WriteInt(n)
			return
		}
	}
	c.WriteRaw(reply)
}

// capture runs cmd through miniredis for connection c (on its context:
// its database, its transaction) and returns the reply instead of sending
// it.
func (s *Server) capture(c *server.Peer, cmd string, args []string) string {
	var buf bytes.Buffer
	p := server.NewPeer(bufio.NewWriter(&buf))
	p.Ctx, p.Resp3 = c.Ctx, c.Resp3
	s.dispatch(p, cmd, args)
	p.Flush()
	return buf.String()
}

// dispatch runs cmd through miniredis, past the hook.
func (s *Server) dispatch(c *server.Peer, cmd string, args []string) {
	prev := s.pass.Swap(c)
	s.srv.Dispatch(c, append([]string{cmd}, args...))
	s.pass.Store(prev)
}

// client returns the state of client connection c, or nil when c is a Lua
// script's call. miniredis gives a connection its context in its first
// command, after this hook ran, while a script's call carries the script's
// context from the start.
func (s *Server) client(c *server.Peer) *client {
	if v, ok := s.clients.Load(c); ok {
		return v.(*client)
	}
	if c.Ctx != nil {
		return nil
	}
	cl := &client{}
	s.clients.Store(c, cl)
	c.OnDisconnect(func() {
		s.clients.Delete(c)
		if cl.holding {
			cl.holding = false
			s.clock.Unlock()
		}
	})
	return cl
}
