//go:build !unix

package redistest

import (
	"os"
	"syscall"
)

// sysProcAttr has nothing to add off Unix: a server outlives a test binary
// that is killed before Close runs.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// killGroup kills p (there is no process group to reach).
func killGroup(p *os.Process) error {
	if err := p.Kill(); err != nil && err != os.ErrProcessDone {
		return err
	}
	return nil
}
