//go:build unix && !linux

package childproc

import "syscall"

// SysProcAttr puts a child in its own process group, so that Terminate and
// Kill reach its children too.
func SysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
