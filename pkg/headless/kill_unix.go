//go:build unix

package headless

import (
	"os"
	"syscall"
)

// killGroup kills the process group Chromium was started in: the browser
// and its helpers, and nothing else.
func killGroup(p *os.Process) {
	if err := syscall.Kill(-p.Pid, syscall.SIGKILL); err != nil {
		p.Kill()
	}
}
