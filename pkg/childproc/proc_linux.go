//go:build linux

package childproc

import "syscall"

// SysProcAttr puts a child in its own process group, so that Terminate and
// Kill reach its children too, and has the kernel kill it if its parent
// dies first.
func SysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
