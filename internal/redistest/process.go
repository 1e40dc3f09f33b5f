package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

const (
	// startTimeout bounds the wait for a new process to answer PING.
	startTimeout = 10 * time.Second
	// pollInterval is how often readiness checks are repeated.
	pollInterval = 10 * time.Millisecond
	// logTailBytes is how much of each log an error quotes.
	logTailBytes = 2048

	serverLog = "redis.log"
	stdioLog  = "stdio.log"
)

// errPortInUse marks a start that failed because a port was taken between
// choosing and binding it; the caller retries with other ports.
var errPortInUse = errors.New("redistest: port in use")

// process is one running redis-server. done is closed once the process has
// exited and been reaped; waitErr is valid after that.
type process struct {
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
}

// startProcess runs bin with argv in dir, sending stdout and stderr to
// dir/stdio.log, and waits until addr answers PING. On failure the process is
// killed and reaped and the error quotes the logs.
func startProcess(bin string, argv []string, dir, addr string) (*process, error) {
	out, err := os.OpenFile(filepath.Join(dir, stdioLog), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("redistest: %w", err)
	}
	cmd := exec.Command(bin, argv...)
	cmd.Dir = dir
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = sysProcAttr()
	err = cmd.Start()
	out.Close() // the child holds its own descriptor
	if err != nil {
		return nil, fmt.Errorf("redistest: start %s: %w", bin, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	if err := p.waitReady(addr); err != nil {
		p.kill()
		logs := logTail(dir)
		if strings.Contains(logs, "Address already in use") {
			return nil, fmt.Errorf("%w: %s: %v\n%s", errPortInUse, addr, err, logs)
		}
		return nil, fmt.Errorf("redistest: redis-server on %s: %w\n%s", addr, err, logs)
	}
	return p, nil
}

// waitReady polls addr with PING until it answers PONG, the process exits or
// startTimeout passes.
func (p *process) waitReady(addr string) error {
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var last error
	for {
		if last = ping(addr); last == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("exited before answering PING: %v", p.waitErr)
		case <-deadline.C:
			return fmt.Errorf("no PONG within %s: %w", startTimeout, last)
		case <-tick.C:
		}
	}
}

// kill sends SIGKILL to the process group and waits until the process has
// been reaped, so its ports are free when kill returns.
func (p *process) kill() error {
	err := killGroup(p.cmd.Process)
	<-p.done
	if err != nil {
		return fmt.Errorf("redistest: kill: %w", err)
	}
	return nil
}

// ping sends one inline PING over a fresh connection and expects +PONG. It
// avoids a go-redis client so no pool goroutines are left behind.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(500 * time.Millisecond)); err != nil {
		return err
	}
	if _, err := io.WriteString(conn, "PING\r\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line = strings.TrimSpace(line); line != "+PONG" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// logTail returns the last logTailBytes of the server log and of the
// captured stdout/stderr in dir, labelled, for error messages.
func logTail(dir string) string {
	var b strings.Builder
	for _, name := range []string{serverLog, stdioLog} {
		tail, err := readTail(filepath.Join(dir, name), logTailBytes)
		if err != nil || len(bytes.TrimSpace(tail)) == 0 {
			continue
		}
		fmt.Fprintf(&b, "--- tail of %s ---\n%s\n", name, bytes.TrimRight(tail, "\n"))
	}
	if b.Len() == 0 {
		return "(no log output)"
	}
	return b.String()
}

func readTail(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(info.Size()-n, 0)
	buf := make([]byte, info.Size()-off)
	_, err = f.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf, nil
}
