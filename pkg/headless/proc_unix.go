//go:build unix && !linux

package headless

import "syscall"

// sysProcAttr puts Chromium in its own process group, so that Close can stop
// its helper processes with it.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
