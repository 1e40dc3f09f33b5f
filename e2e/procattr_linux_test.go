//go:build linux

package e2e

import "syscall"

// sysProcAttr has the kernel kill an instance when the thread that started
// it dies with the test binary, so a crashed or killed test leaves no
// sessionapp behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
