package rawconn

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// Wrap returns nc read and written with raw system calls if it is a
// *net.TCPConn, and nc otherwise. The result is not safe for concurrent
// Reads, nor for concurrent Writes (a Read and a Write may run at once), as
// with any net.Conn used by one reader and one writer.
func Wrap(nc net.Conn) net.Conn {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nc
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nc
	}
	c := &conn{TCPConn: tc, rc: rc}
	c.rd.fn = c.rd.read
	c.wr.fn = c.wr.write
	return c
}

// conn is a TCP connection read and written with raw system calls.
type conn struct {
	*net.TCPConn
	rc     syscall.RawConn
	rd, wr call
}

// call is the state of a read or a write in progress, with the function
// given to RawConn made once rather than for each call.
type call struct {
	p     []byte
	n     int
	errno syscall.Errno
	fn    func(fd uintptr) bool
}

// read reads once into p; false asks RawConn to wait until readable.
func (c *call) read(fd uintptr) bool {
	for {
		n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(c.p))), uintptr(len(c.p)))
		switch errno {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		c.n, c.errno = int(n), errno
		return true
	}
}

// write writes all of p; false asks RawConn to wait until writable.
func (c *call) write(fd uintptr) bool {
	for len(c.p) > 0 {
		n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(c.p))), uintptr(len(c.p)))
		switch errno {
		case 0:
			c.n += int(n)
			c.p = c.p[n:]
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			c.errno = errno
			return true
		}
	}
	return true
}

func (c *conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.rd.p, c.rd.n, c.rd.errno = p, 0, 0
	err := c.rc.Read(c.rd.fn)
	c.rd.p = nil
	if err == nil && c.rd.errno != 0 {
		err = os.NewSyscallError("read", c.rd.errno)
	}
	if err != nil {
		return 0, c.opError("read", err)
	}
	if c.rd.n == 0 {
		return 0, io.EOF
	}
	return c.rd.n, nil
}

func (c *conn) Write(p []byte) (int, error) {
	c.wr.p, c.wr.n, c.wr.errno = p, 0, 0
	err := c.rc.Write(c.wr.fn)
	n := c.wr.n
	c.wr.p = nil
	if err == nil && c.wr.errno != 0 {
		err = os.NewSyscallError("write", c.wr.errno)
	}
	if err != nil {
		return n, c.opError("write", err)
	}
	return n, nil
}

func (c *conn) opError(op string, err error) error {
	if oe, ok := err.(*net.OpError); ok { // RawConn's own ("raw-read"): say it as net would
		err = oe.Err
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}
