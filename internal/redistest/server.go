package redistest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

// portAttempts bounds the retries when a chosen port is taken before the
// server binds it.
const portAttempts = 5

// Server is one redis-server process listening on a free 127.0.0.1 port.
// Its methods are safe for concurrent use; lifecycle operations (Kill,
// Restart, Close) are serialized.
type Server struct {
	// Addr is the server's "127.0.0.1:port" address. It does not change
	// across Kill and Restart.
	Addr string
	// Port is the port of Addr.
	Port int
	// TLSAddr is the "127.0.0.1:port" address of the TLS listener of a
	// server started with [StartTLSServer]; empty otherwise.
	TLSAddr string
	// Dir is the server's private working directory (logs, nodes.conf,
	// sentinel.conf). Close removes it.
	Dir string

	bin     string
	argv    []string
	busPort int // cluster bus port; 0 unless a cluster node

	// mu serializes lifecycle operations, which wait for process exit and
	// startup while holding it; nothing else takes it.
	mu     sync.Mutex
	proc   *process // nil while killed
	closed bool
}

// serverSpec describes a server to start.
type serverSpec struct {
	conf     string    // contents of redis.conf, passed as the first argument; "" for none
	sentinel bool      // run in sentinel mode
	busPort  bool      // allocate a cluster bus port (--cluster-port)
	tls      *TLSFiles // listen with TLS too (--tls-port), with these files
	args     []string  // extra arguments, appended last so they override ours
}

// NewServer starts a standalone redis-server on a free loopback port with no
// persistence and returns once it answers PING. args are extra redis-server
// arguments ("--maxmemory", "10mb"), applied after the defaults so they
// override them. The caller must call Close; prefer [StartServer] in tests.
// NewServer is meant for TestMain, where no testing.TB exists.
func NewServer(args ...string) (*Server, error) {
	return newServer(serverSpec{args: args})
}

// StartServer is [NewServer] for a test: it fails tb on error and closes the
// server when tb's cleanup runs.
func StartServer(tb testing.TB, args ...string) *Server {
	tb.Helper()
	s, err := NewServer(args...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

func newServer(spec serverSpec) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return nil, fmt.Errorf("redistest: %w", err)
	}
	if spec.conf != "" {
		if err := os.WriteFile(filepath.Join(dir, "redis.conf"), []byte(spec.conf), 0o600); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("redistest: %w", err)
		}
	}
	nports := 1
	if spec.busPort {
		nports = 2
	}
	if spec.tls != nil {
		nports++ // the last one
	}
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(nports)
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		s := &Server{
			Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
			Port: ports[0],
			Dir:  dir,
			bin:  bin,
			argv: spec.argv(dir, ports),
		}
		if spec.busPort {
			s.busPort = ports[1]
		}
		if spec.tls != nil {
			s.TLSAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[len(ports)-1]))
		}
		// A failed attempt's logs would otherwise be quoted by the next one.
		os.Remove(filepath.Join(dir, serverLog))
		os.Remove(filepath.Join(dir, stdioLog))
		s.proc, err = startProcess(bin, s.argv, dir, s.Addr)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, errPortInUse) || attempt == portAttempts {
			os.RemoveAll(dir)
			return nil, err
		}
	}
}

func (spec serverSpec) argv(dir string, ports []int) []string {
	var argv []string
	if spec.conf != "" {
		argv = append(argv, filepath.Join(dir, "redis.conf"))
	}
	if spec.sentinel {
		argv = append(argv, "--sentinel")
	}
	argv = append(argv,
		"--port", strconv.Itoa(ports[0]),
		"--bind", "127.0.0.1",
		"--protected-mode", "yes",
		"--daemonize", "no",
		"--dir", dir,
		"--logfile", filepath.Join(dir, serverLog),
		"--save", "",
		"--appendonly", "no",
		"--enable-debug-command", "local",
		// Replicas sync at once instead of after the default 5 s batching.
		"--repl-diskless-sync-delay", "0",
	)
	if spec.busPort {
		argv = append(argv, "--cluster-port", strconv.Itoa(ports[1]))
	}
	if spec.tls != nil {
		argv = append(argv, spec.tls.serverArgs(ports[len(ports)-1])...)
	}
	return append(argv, spec.args...)
}

// Kill sends SIGKILL to the server and returns once the process is gone, so
// clients see connection errors. It simulates a crash for fault tests; the
// data is lost (nothing is persisted). Kill of a killed server is a no-op;
// Kill after Close returns an error.
func (s *Server) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("redistest: kill: server closed")
	}
	if s.proc == nil {
		return nil
	}
	p := s.proc
	s.proc = nil
	return p.kill()
}

// Restart starts the server again on the same address with the same
// arguments and directory (a cluster node keeps its nodes.conf and rejoins)
// and returns once it answers PING. A running server is killed first.
// Restart fails if another process has taken the port meanwhile.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("redistest: restart: server closed")
	}
	if s.proc != nil {
		p := s.proc
		s.proc = nil
		if err := p.kill(); err != nil {
			return err
		}
	}
	p, err := startProcess(s.bin, s.argv, s.Dir, s.Addr)
	if err != nil {
		return fmt.Errorf("redistest: restart: %w", err)
	}
	s.proc = p
	return nil
}

// Running reports whether the server process is up (started and not
// killed or closed).
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil
}

// Close kills the server and removes its directory. It is idempotent and
// safe to call on a killed server.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	if s.proc != nil {
		errs = append(errs, s.proc.kill())
		s.proc = nil
	}
	if err := os.RemoveAll(s.Dir); err != nil {
		errs = append(errs, fmt.Errorf("redistest: close: %w", err))
	}
	return errors.Join(errs...)
}

// Options returns go-redis options for a client of s. ContextTimeoutEnabled
// is set so context deadlines bound socket I/O, as production callers of
// this module are expected to configure it.
func (s *Server) Options() *redis.Options {
	return &redis.Options{Addr: s.Addr, ContextTimeoutEnabled: true}
}

// Client returns a new client of s (see [Server.Options]) that is closed when
// tb's cleanup runs.
func (s *Server) Client(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewClient(s.Options())
	tb.Cleanup(func() { c.Close() })
	return c
}

// LogTail returns the end of the server's log files, for test failure
// messages.
func (s *Server) LogTail() string {
	return logTail(s.Dir)
}
