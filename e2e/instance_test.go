package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sessionmigrate/sessionmigrate/migrate"
)

// Bounds of an instance's life.
const (
	startTimeout = 15 * time.Second // until it prints its listen line
	stopTimeout  = 10 * time.Second // from SIGTERM until SIGKILL
	logTailLines = 40               // of each instance's log on failure
)

// instanceConfig configures the sessionapp processes of a test. Zero fields
// take sessionapp's own defaults, except where noted.
type instanceConfig struct {
	// ControlRedisAddr is the control plane's Redis; default the session
	// Redis.
	ControlRedisAddr string
	// Poll is the control plane poll interval (--poll).
	Poll time.Duration
	// Heartbeat is the heartbeat interval (--heartbeat); default 200ms here,
	// so migratectl sees applied epochs quickly.
	Heartbeat time.Duration
	// RedisArgs are extra flags naming the sessions' Redis topology
	// (--sentinel-master NAME, --cluster); redisAddr is then the sentinels
	// or seed nodes, comma-separated.
	RedisArgs []string
	// DistTimeout is the request-path Redis timeout (--dist-timeout);
	// default the application's (100ms).
	DistTimeout time.Duration
}

// instance is one running sessionapp process.
type instance struct {
	// Name is its --instance id.
	Name string
	// URL is the application's base URL, Admin the admin listener's.
	URL, Admin string

	args   []string // its command line, for a restart
	cmd    *exec.Cmd
	logs   *lineBuffer
	admin  *http.Client
	done   chan struct{} // closed once the process has exited
	exit   error         // cmd.Wait's result, set before done closes
	signal sync.Once
	killed bool // the test killed it: its exit is expected
}

// listenLine is what sessionapp prints once it serves.
var listenLine = regexp.MustCompile(`^sessionapp listening on (\S+) admin on (\S+)$`)

// startInstances runs n sessionapp processes against redisAddr, waits until
// each one serves, and stops them when t's cleanup runs (SIGTERM, SIGKILL
// after stopTimeout), logging the tail of their output if t failed. Each is
// a separate OS process with its own memory: the local stores are not
// shared, as in production.
func startInstances(t *testing.T, n int, redisAddr string, cfg instanceConfig) []*instance {
	t.Helper()
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 200 * time.Millisecond
	}
	admin := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{}}
	var insts []*instance
	t.Cleanup(func() {
		stopAll(t, insts)
		admin.CloseIdleConnections()
	})
	for i := range n {
		name := fmt.Sprintf("%s-%d", t.Name(), i)
		args := []string{"--redis-addr", redisAddr, "--instance", name, "--heartbeat", cfg.Heartbeat.String()}
		args = append(args, cfg.RedisArgs...)
		if cfg.ControlRedisAddr != "" {
			args = append(args, "--control-redis-addr", cfg.ControlRedisAddr)
		}
		if cfg.Poll > 0 {
			args = append(args, "--poll", cfg.Poll.String())
		}
		if cfg.DistTimeout > 0 {
			args = append(args, "--dist-timeout", cfg.DistTimeout.String())
		}
		in, err := startInstance(name, args, admin)
		if in != nil {
			insts = append(insts, in)
		}
		if err != nil {
			t.Fatalf("starting instance %d: %v", i, err)
		}
	}
	return insts
}

// startInstance starts one process and waits for its listen line.
func startInstance(name string, args []string, admin *http.Client) (*instance, error) {
	cmd := exec.Command(bins.sessionapp, args...)
	cmd.SysProcAttr = sysProcAttr()
	cmd.Env = append(os.Environ(), raceOptions()...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	in := &instance{Name: name, args: args, cmd: cmd, logs: newLineBuffer(), admin: admin, done: make(chan struct{})}
	addrs := make(chan [2]string, 1)
	var readers sync.WaitGroup
	readers.Add(2)
	go func() {
		defer readers.Done()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listenLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addrs <- [2]string{m[1], m[2]}:
				default:
				}
			}
			in.logs.add(sc.Text())
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		defer readers.Done()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			in.logs.add(sc.Text())
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	go func() {
		readers.Wait() // Wait closes the pipes: read them to the end first
		in.exit = cmd.Wait()
		close(in.done)
	}()
	select {
	case a := <-addrs:
		in.URL, in.Admin = "http://"+a[0], "http://"+a[1]
		return in, nil
	case <-in.done:
		return in, fmt.Errorf("%s exited before serving: %v\n%s", in.Name, in.exit, in.logs.tail(logTailLines))
	case <-time.After(startTimeout):
		return in, fmt.Errorf("%s printed no listen line within %s\n%s", in.Name, startTimeout, in.logs.tail(logTailLines))
	}
}

// stopAll stops every instance in parallel: SIGTERM, then SIGKILL after
// stopTimeout. An instance that does not exit cleanly on SIGTERM fails t;
// when t failed, every instance's log tail is logged.
func stopAll(t *testing.T, insts []*instance) {
	var wg sync.WaitGroup
	errs := make([]error, len(insts))
	for i, in := range insts {
		wg.Go(func() { errs[i] = in.stop() })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("stopping %s: %v", insts[i].Name, err)
		}
	}
	if t.Failed() {
		for _, in := range insts {
			t.Logf("--- %s (%s), last %d lines of output:\n%s", in.Name, in.URL, logTailLines, in.logs.tail(logTailLines))
		}
	}
}

// kill ends the process at once with SIGKILL, as a crash or an OOM kill
// does: no clean shutdown, its heartbeat left to expire. It returns once
// the process has exited.
func (in *instance) kill() {
	in.killed = true
	_ = in.cmd.Process.Kill()
	<-in.done
}

// stop ends the process gracefully and reports an unclean exit.
func (in *instance) stop() error {
	select {
	case <-in.done:
		if in.killed {
			return nil
		}
		return fmt.Errorf("had exited before the test ended: %v", in.exit)
	default:
	}
	in.signal.Do(func() { _ = in.cmd.Process.Signal(syscall.SIGTERM) })
	select {
	case <-in.done:
		return in.exit
	case <-time.After(stopTimeout):
		_ = in.cmd.Process.Kill()
		<-in.done
		return fmt.Errorf("did not exit within %s of SIGTERM; killed", stopTimeout)
	}
}

// restart stops the process gracefully (it drains what Redis has not
// taken) and starts a new one with the same command line: a deploy. The
// new process has a fresh local store and new ports; insts[i] is replaced
// (startInstances' cleanup stops the new one).
func restart(t *testing.T, insts []*instance, i int) *instance {
	t.Helper()
	old := insts[i]
	if err := old.stop(); err != nil {
		t.Fatalf("stopping %s for a restart: %v\n%s", old.Name, err, old.logs.tail(logTailLines))
	}
	in, err := startInstance(old.Name, old.args, old.admin)
	if err != nil {
		t.Fatalf("restarting %s: %v", old.Name, err)
	}
	insts[i] = in
	return in
}

// Status reads the instance's admin /status.
func (in *instance) Status(ctx context.Context) (migrate.Status, error) {
	var st migrate.Status
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.Admin+"/status", nil)
	if err != nil {
		return st, err
	}
	resp, err := in.admin.Do(req)
	if err != nil {
		select {
		case <-in.done:
			return st, fmt.Errorf("%s has exited (%v): %w", in.Name, in.exit, err)
		default:
		}
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("%s /status: %s", in.Name, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("%s /status: %w", in.Name, err)
	}
	return st, nil
}

// urls returns the instances' application URLs, for vuser.NewHTTPApp.
func urls(insts []*instance) []string {
	out := make([]string, len(insts))
	for i, in := range insts {
		out[i] = in.URL
	}
	return out
}

// lineBuffer keeps the last maxLines lines of a process's output. It is
// safe for concurrent use.
type lineBuffer struct {
	mu      sync.Mutex
	lines   []string
	dropped int // lines trimmed from the front
}

const maxLines = 20000

func newLineBuffer() *lineBuffer { return &lineBuffer{} }

func (b *lineBuffer) add(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.lines) == maxLines {
		b.lines = append(b.lines[:0], b.lines[maxLines/2:]...)
		b.dropped += maxLines / 2
	}
	b.lines = append(b.lines, line)
}

// tail returns the last n lines, one per line.
func (b *lineBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines[max(0, len(b.lines)-n):], "\n")
}

// mark returns a position in the output for since.
func (b *lineBuffer) mark() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped + len(b.lines)
}

// since returns the lines still kept that were added after mark.
func (b *lineBuffer) since(mark int) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := min(max(mark-b.dropped, 0), len(b.lines))
	return append([]string(nil), b.lines[i:]...)
}
