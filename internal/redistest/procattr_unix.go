//go:build unix && !linux

package redistest

import "syscall"

// sysProcAttr puts the server in its own process group so Kill reaches any
// child it forks. Without Linux's parent-death signal, a server outlives a
// test binary that is killed before Close runs.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
