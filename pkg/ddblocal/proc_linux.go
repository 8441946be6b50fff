//go:build linux

package ddblocal

import "syscall"

// sysProcAttr puts the JVM in its own process group, so Stop can signal it
// and its children together, and has the kernel SIGKILL it when the thread
// that started it dies, so it does not outlive a test binary that crashes or
// is killed.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
