//go:build !linux

package e2e

import "syscall"

// sysProcAttr sets nothing: only Linux has a parent-death signal. Cleanup
// still stops every instance unless the test binary itself is killed.
func sysProcAttr() *syscall.SysProcAttr { return nil }
