//go:build unix

package childproc

import (
	"os"
	"syscall"
)

// Terminate asks the process group of p to stop (SIGTERM).
func Terminate(p *os.Process) error { return syscall.Kill(-p.Pid, syscall.SIGTERM) }

// Kill kills the process group of p, or p alone if it has no group.
func Kill(p *os.Process) error {
	if err := syscall.Kill(-p.Pid, syscall.SIGKILL); err != nil {
		return p.Kill()
	}
	return nil
}
