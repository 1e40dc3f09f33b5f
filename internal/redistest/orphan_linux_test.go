//go:build linux

package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// orphanHelperEnv makes the test binary act as a test that starts a server
// and then dies without Close (see TestHelperStartAndHang).
const orphanHelperEnv = "REDISTEST_ORPHAN_HELPER"

// TestHelperStartAndHang is not a test: run by TestServerDiesWithTestBinary
// in a child process, it starts a server, reports its pid and blocks until
// it is killed.
func TestHelperStartAndHang(t *testing.T) {
	if os.Getenv(orphanHelperEnv) != "1" {
		t.Skip("helper process for TestServerDiesWithTestBinary")
	}
	s, err := NewServer()
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	s.mu.Lock()
	fmt.Printf("pid %d\n", s.proc.cmd.Process.Pid)
	s.mu.Unlock()
	select {}
}

// TestServerDiesWithTestBinary: a test binary killed before Close (SIGKILL,
// so no cleanup runs) takes its servers with it.
func TestServerDiesWithTestBinary(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-test.run=^TestHelperStartAndHang$", "-test.v")
	cmd.Env = append(os.Environ(), orphanHelperEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "pid "); ok {
			if pid, err = strconv.Atoi(rest); err != nil {
				t.Fatal(err)
			}
			break
		}
		if strings.HasPrefix(sc.Text(), "error:") {
			t.Fatal(sc.Text())
		}
	}
	if pid == 0 {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("helper did not report a server pid")
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("server %d not running before the helper dies: %v", pid, err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	// The server is not our child, so it cannot be reaped here; wait until
	// it has gone (or is a zombie awaiting init).
	err = poll(ctx, func(context.Context) error {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) || isZombie(pid) {
			return nil
		}
		return fmt.Errorf("server %d still running", pid)
	})
	if err != nil {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("server outlived the killed test binary: %v", err)
	}
}

func isZombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	i := strings.LastIndexByte(string(stat), ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}
