//go:build linux

package headless

import "syscall"

// sysProcAttr puts Chromium in its own process group, so that Close can stop
// its helper processes with it, and has the kernel kill it when the test
// binary dies first.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
