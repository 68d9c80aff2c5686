//go:build !unix

package pipeline_test

import (
	"net"
	"testing"
)

// refusedAddr returns a loopback address where a connection is refused:
// the port of a listener just closed (another process could take it in
// between; the unix version holds the port instead).
func refusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
