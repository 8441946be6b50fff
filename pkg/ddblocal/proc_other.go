//go:build !unix

package ddblocal

import (
	"io"
	"os"
	"syscall"
)

// sysProcAttr sets nothing: process groups and parent death signals are Unix
// features.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// terminate kills p: there is no SIGTERM to send.
func terminate(p *os.Process) error { return p.Kill() }

// kill kills p.
func kill(p *os.Process) error { return p.Kill() }

// lockPort does not lock: ports are only checked for being free.
func lockPort(int) (io.Closer, bool) { return nopCloser{}, true }
