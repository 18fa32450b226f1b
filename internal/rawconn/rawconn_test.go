package rawconn

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// pair returns a wrapped client connection and the server's end.
func pair(t *testing.T) (net.Conn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv := (<-accepted).(*net.TCPConn)
	c := Wrap(nc)
	t.Cleanup(func() { c.Close(); srv.Close() })
	return c, srv
}

func TestWrapsTCPOnlyOnLinux(t *testing.T) {
	c, _ := pair(t)
	_, wrapped := c.(*conn)
	if wrapped != (runtime.GOOS == "linux") {
		t.Errorf("a TCP connection wrapped: %v on %s", wrapped, runtime.GOOS)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if Wrap(a) != a {
		t.Error("a pipe was wrapped")
	}
}

// TestBytesBothWays: a write much larger than the socket buffers (so that
// it waits for the poller) arrives whole and in order, and reads see every
// byte, then io.EOF.
func TestBytesBothWays(t *testing.T) {
	c, srv := pair(t)
	data := make([]byte, 8<<20)
	for i := range data {
		data[i] = byte(i * 31)
	}
	got := make(chan []byte)
	go func() {
		time.Sleep(50 * time.Millisecond) // the socket buffers fill and the write waits
		b, _ := io.ReadAll(srv)
		got <- b
	}()
	if n, err := c.Write(data); n != len(data) || err != nil {
		t.Fatalf("wrote %d, %v", n, err)
	}
	c.(interface{ CloseWrite() error }).CloseWrite()
	if b := <-got; !bytes.Equal(b, data) {
		t.Fatalf("the server read %d bytes, not what was written", len(b))
	}
	go func() {
		srv.Write(data[:100000])
		srv.Close()
	}()
	b, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(b, data[:100000]) {
		t.Fatalf("read %d bytes, %v", len(b), err)
	}
	if n, err := c.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Errorf("after the end: %d, %v; want 0, io.EOF", n, err)
	}
}

// TestErrorsAsNets: deadlines, Close and a reset give the errors net gives.
func TestErrorsAsNets(t *testing.T) {
	c, srv := pair(t)
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err := c.Read(make([]byte, 10))
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("read past the deadline: %v, want a timeout", err)
	}
	c.SetReadDeadline(time.Time{})
	done := make(chan error)
	go func() {
		_, err := c.Read(make([]byte, 10))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	srv.SetLinger(0)
	srv.Close() // a reset
	if err := <-done; !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("read after a reset: %v, want ECONNRESET", err)
	}
	var op *net.OpError
	if _, err := c.Write([]byte("x")); !errors.As(err, &op) || op.Op != "write" {
		t.Errorf("write after a reset: %v, want a write *net.OpError", err)
	}

	c2, _ := pair(t)
	go func() {
		time.Sleep(20 * time.Millisecond)
		c2.Close()
	}()
	if _, err := c2.Read(make([]byte, 10)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("read across Close: %v, want net.ErrClosed", err)
	}
	if _, err := c2.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after Close: %v, want net.ErrClosed", err)
	}
}
