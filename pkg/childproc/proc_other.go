//go:build !unix

package childproc

import (
	"os"
	"syscall"
)

// SysProcAttr sets nothing: process groups and parent death signals are
// Unix features.
func SysProcAttr() *syscall.SysProcAttr { return nil }

// Terminate kills p: there is no gentler signal here.
func Terminate(p *os.Process) error { return p.Kill() }

// Kill kills p.
func Kill(p *os.Process) error { return p.Kill() }
