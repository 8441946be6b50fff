//go:build unix

package ddblocal

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// lockPort takes an exclusive, non-blocking flock on a per-port file in the
// temporary directory. ok is false only when another process holds it; when
// the lock file cannot be created at all the port is used unlocked. The
// kernel drops the lock when the holder exits, however it exits.
func lockPort(port int) (lock io.Closer, ok bool) {
	dir := filepath.Join(os.TempDir(), "ddblocal-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nopCloser{}, true
	}
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)+".lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nopCloser{}, true
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err != syscall.EWOULDBLOCK
	}
	return f, true
}
