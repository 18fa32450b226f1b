package link

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// tunName is the link's device in each namespace.
const tunName = "muxlab0"

// A tun is one namespace's TUN device: what its kernel sends to the peer
// is read here and put on the out pipe; what the other pipe delivers is
// written here, for the kernel to receive.
type tun struct {
	f    *os.File
	out  *pipe
	pool *sync.Pool // *[]byte of the MTU

	started bool          // read runs
	exit    chan struct{} // closed when read returns
}

// openTUN makes the device on the calling thread, which must be inside the
// namespace it is for. Its descriptor is non-blocking, so reads and writes
// wait in Go's poller.
func openTUN() (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENXIO) {
			return nil, &StackError{Missing: "a TUN device (/dev/net/tun; modprobe tun, or give a container --device /dev/net/tun)", Err: err}
		}
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, &StackError{Missing: "access to /dev/net/tun (root, or CAP_NET_ADMIN)", Err: err}
		}
		return nil, fmt.Errorf("link: open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(tunName)
	if err == nil {
		ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
		err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
	}
	if err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EPERM) {
			return nil, &StackError{Missing: "CAP_NET_ADMIN to make a TUN device", Err: err}
		}
		return nil, fmt.Errorf("link: TUNSETIFF: %w", err)
	}
	return os.NewFile(uintptr(fd), "/dev/net/tun"), nil
}

// tunPacket is a packet read from a TUN device, as the link takes it.
type tunPacket struct{ b *[]byte }

func (t *tunPacket) size() int         { return len(*t.b) }
func (t *tunPacket) take() packet      { return packet{raw: t.b} }
func (t *tunPacket) head(b []byte) int { return copy(b, *t.b) }

// start reads the device until it closes.
func (t *tun) start(mtu int) {
	t.started = true
	go t.read(mtu)
}

// read puts every packet the kernel sends on the out pipe, until the device
// closes.
func (t *tun) read(mtu int) {
	defer close(t.exit)
	var pk tunPacket
	for {
		b := t.pool.Get().(*[]byte)
		*b = (*b)[:mtu]
		n, err := t.f.Read(*b)
		if err != nil {
			t.pool.Put(b)
			return
		}
		*b = (*b)[:n]
		pk.b = b
		if !t.out.send(&pk) {
			t.pool.Put(b)
		}
	}
}

// deliver implements receiver: the packet enters this namespace's kernel.
func (t *tun) deliver(pk *packet) {
	t.f.Write(*pk.raw) // a closed device: the link is going away
	t.pool.Put(pk.raw)
}

func (t *tun) discard(pk *packet) { t.pool.Put(pk.raw) }
