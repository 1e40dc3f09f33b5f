//go:build linux

package redistest

import "syscall"

// sysProcAttr puts the server in its own process group (so Kill reaches any
// child it forks, e.g. for a replica's full sync) and has the kernel kill it
// when the thread that started it dies with the test binary.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
