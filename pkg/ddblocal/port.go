package ddblocal

import (
	"fmt"
	"io"
	"net"
	"strconv"
)

// reservePort returns the port to start DynamoDB Local on and a lock to hold
// while it runs. For port 0 it picks a port the kernel reports free and that
// no other ddblocal user (for instance the test binary of another package,
// running in parallel) has locked: otherwise two servers could be started on
// one port and the loser's readiness check be answered by the winner. For a
// fixed port it only checks that the port is free now, so that a server
// already listening there is reported rather than mistaken for the new one.
func reservePort(port int) (int, io.Closer, error) {
	if port != 0 {
		l, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(port)))
		if err != nil {
			return 0, nil, fmt.Errorf("port %d is not free: %w", port, err)
		}
		l.Close()
		return port, nopCloser{}, nil
	}
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, nil, fmt.Errorf("pick a free port: %w", err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		lock, ok := lockPort(p)
		l.Close()
		if ok {
			return p, lock, nil
		}
	}
	return 0, nil, fmt.Errorf("pick a free port: every port offered was locked by another DynamoDB Local")
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }
