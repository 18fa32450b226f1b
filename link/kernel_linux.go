package link

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The namespaces' own settings, written inside them (never the host's):
//   - no IPv6, whose link-local chatter would cross the link;
//   - no TCP metrics kept between connections, so that one contender's
//     losses do not set the next one's starting ssthresh, as gVisor keeps
//     none;
//   - socket buffers up to 8 MiB, as the userspace stack allows, so that a
//     long fat link is not limited by the kernel's 4 MiB send buffer.
var namespaceSysctls = [][2]string{
	{"ipv6/conf/all/disable_ipv6", "1"},
	{"ipv6/conf/default/disable_ipv6", "1"},
	{"ipv4/tcp_no_metrics_save", "1"},
	{"ipv4/tcp_wmem", "4096 16384 8388608"},
	{"ipv4/tcp_rmem", "4096 131072 8388608"},
}

// tunQueue is each TUN device's transmit queue, packets: the kernel's
// default of 500 overflows before the link reads a burst.
const tunQueue = 10000

var kernelProbe = sync.OnceValue(probeKernel)

// KernelSupport reports whether this process may run the kernel stack, by
// making a namespace and a TUN device in it; the error is a *StackError
// naming what is missing. The answer is found once.
func KernelSupport() error { return kernelProbe() }

func probeKernel() error {
	ns, err := newNamespace()
	if err != nil {
		return err
	}
	defer ns.close()
	return ns.run(func() error {
		f, err := openTUN()
		if err == nil {
			f.Close()
		}
		return err
	})
}

// kernelCCs lists the congestion controls the kernel has loaded.
func kernelCCs() []string {
	b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_available_congestion_control")
	if err != nil {
		return []string{"cubic", "reno"}
	}
	return strings.Fields(string(b))
}

// kernel is the link's stacks in the machine's kernel: a namespace for
// each end, joined by their TUN devices and the link's pipes.
type kernel struct {
	client, server *namespace
	ctun, stun     *tun
	cc             string
	socks          sockets
}

func newKernel(opts Options, rep *repairs) (_ *kernel, up, down *pipe, err error) {
	k := &kernel{cc: opts.CongestionControl}
	pool := &sync.Pool{New: func() any { b := make([]byte, opts.MTU); return &b }}
	k.ctun = &tun{pool: pool, exit: make(chan struct{})}
	k.stun = &tun{pool: pool, exit: make(chan struct{})}
	up = newPipe(opts.Up, opts.Seed, 1, k.stun, rep)
	down = newPipe(opts.Down, opts.Seed, 2, k.ctun, rep)
	k.ctun.out, k.stun.out = up, down
	defer func() {
		if err != nil {
			k.close()
			up.close()
			down.close()
			k.wait()
		}
	}()
	if k.client, err = newNamespace(); err != nil {
		return nil, nil, nil, err
	}
	if k.server, err = newNamespace(); err != nil {
		return nil, nil, nil, err
	}
	if k.ctun.f, err = k.client.device(ClientIP, opts.MTU); err != nil {
		return nil, nil, nil, err
	}
	if k.stun.f, err = k.server.device(ServerIP, opts.MTU); err != nil {
		return nil, nil, nil, err
	}
	k.ctun.start(opts.MTU)
	k.stun.start(opts.MTU)
	return k, up, down, nil
}

// device sets the namespace up for the link: its settings, its loopback,
// and a TUN device with address ip/24, which it returns.
func (ns *namespace) device(ip netip.Addr, mtu int) (*os.File, error) {
	var f *os.File
	err := ns.run(func() error {
		for _, s := range namespaceSysctls {
			if err := writeSysctl(s[0], s[1]); err != nil {
				return err
			}
		}
		var err error
		if f, err = openTUN(); err != nil {
			return err
		}
		h, err := netlink.NewHandleAt(netns.NsHandle(ns.fd))
		if err != nil {
			return fmt.Errorf("link: netlink in the namespace: %w", err)
		}
		defer h.Close()
		lo, err := h.LinkByName("lo")
		if err == nil {
			err = h.LinkSetUp(lo)
		}
		dev, err2 := h.LinkByName(tunName)
		for _, step := range []func() error{
			func() error { return err },
			func() error { return err2 },
			func() error { return h.LinkSetTxQLen(dev, tunQueue) },
			func() error { return h.LinkSetMTU(dev, mtu) },
			func() error {
				return h.AddrAdd(dev, &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(24, 32)}})
			},
			func() error { return h.LinkSetUp(dev) },
		} {
			if err := step(); err != nil {
				return fmt.Errorf("link: set up %s: %w", tunName, err)
			}
		}
		return nil
	})
	if err != nil && f != nil {
		f.Close()
		f = nil
	}
	return f, err
}

// control sets the link's congestion control on each socket as it is made:
// accepted sockets inherit their listener's; the host's choice is never
// touched.
func (k *kernel) control(network, _ string, c syscall.RawConn) error {
	if !strings.HasPrefix(network, "tcp") {
		return nil
	}
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION, k.cc)
	})
	if err == nil && serr != nil {
		err = fmt.Errorf("congestion control %s: %w", k.cc, serr)
	}
	return err
}

// socket calls open on a thread inside ns, so that the socket it makes is
// the namespace's, and tracks that socket for Close.
func socket[S io.Closer](k *kernel, ns *namespace, open func() (S, error)) (S, error) {
	var sock S
	err := ns.run(func() error {
		var err error
		sock, err = open()
		return err
	})
	if err != nil {
		var none S
		return none, err
	}
	k.socks.add(sock)
	return sock, nil
}

func (k *kernel) dialTCP(ctx context.Context, to netip.AddrPort) (net.Conn, error) {
	return socket(k, k.client, func() (net.Conn, error) {
		// An address literal: net dials it on this goroutine, so the socket
		// is made on this thread, in this namespace.
		d := net.Dialer{Control: k.control, LocalAddr: &net.TCPAddr{IP: ClientIP.AsSlice()}}
		return d.DialContext(ctx, "tcp4", to.String())
	})
}

func (k *kernel) dialUDP(to netip.AddrPort) (net.Conn, error) {
	return socket(k, k.client, func() (net.Conn, error) {
		return net.DialUDP("udp4", &net.UDPAddr{IP: ClientIP.AsSlice()}, net.UDPAddrFromAddrPort(to))
	})
}

func (k *kernel) clientPacket() (net.PacketConn, error) {
	return k.udpSocket(k.client, netip.AddrPortFrom(ClientIP, 0))
}

func (k *kernel) listenUDP(at netip.AddrPort) (net.PacketConn, error) {
	return k.udpSocket(k.server, at)
}

func (k *kernel) udpSocket(ns *namespace, at netip.AddrPort) (net.PacketConn, error) {
	return socket(k, ns, func() (net.PacketConn, error) { return net.ListenUDP("udp4", net.UDPAddrFromAddrPort(at)) })
}

func (k *kernel) listenTCP(at netip.AddrPort) (net.Listener, error) {
	l, err := socket(k, k.server, func() (net.Listener, error) {
		lc := net.ListenConfig{Control: k.control}
		return lc.Listen(context.Background(), "tcp4", at.String())
	})
	if err != nil {
		return nil, err
	}
	return trackedListener{l, &k.socks}, nil
}

// trackedListener counts every connection it accepts among the link's
// sockets, which Close aborts.
type trackedListener struct {
	net.Listener
	socks *sockets
}

func (l trackedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.socks.add(c)
	}
	return c, err
}

func (k *kernel) tcp() (client, server TCP) {
	c, _ := k.client.counts(true)
	s, _ := k.server.counts(false)
	return c, s
}

func (k *kernel) udp() (client, server UDP) {
	_, c := k.client.counts(true)
	_, s := k.server.counts(false)
	return c, s
}

// counts reads the namespace's own TCP and UDP counters; zero if they
// cannot be read (the namespace is gone).
func (ns *namespace) counts(active bool) (t TCP, u UDP) {
	ns.run(func() error {
		snmp, err := os.ReadFile("/proc/thread-self/net/snmp")
		if err != nil {
			return err
		}
		netstat, err := os.ReadFile("/proc/thread-self/net/netstat")
		if err != nil {
			return err
		}
		counts := parseSNMP(string(snmp))
		t = kernelTCP(counts, parseSNMP(string(netstat)), active)
		u = UDP{Sent: counts["Udp.OutDatagrams"], BufferDrops: counts["Udp.RcvbufErrors"]}
		return nil
	})
	return t, u
}

func (k *kernel) clientNamespace() string {
	return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), k.client.fd)
}

func (k *kernel) deviceDrops() (up, down int64) {
	return k.client.deviceDrops(), k.server.deviceDrops()
}

// deviceDrops is what the namespace's TUN device dropped on its way to the
// link (its transmit queue full).
func (ns *namespace) deviceDrops() int64 {
	h, err := netlink.NewHandleAt(netns.NsHandle(ns.fd))
	if err != nil {
		return 0
	}
	defer h.Close()
	l, err := h.LinkByName(tunName)
	if err != nil || l.Attrs().Statistics == nil {
		return 0
	}
	return int64(l.Attrs().Statistics.TxDropped)
}

// close aborts every socket made on the link and closes the devices and
// the namespaces' handles: with the last socket the namespaces go.
func (k *kernel) close() {
	k.socks.closeAll()
	for _, t := range []*tun{k.ctun, k.stun} {
		if t != nil && t.f != nil {
			t.f.Close()
		}
	}
}

func (k *kernel) wait() {
	for _, t := range []*tun{k.ctun, k.stun} {
		if t != nil && t.started {
			<-t.exit
		}
	}
	k.client.close()
	k.server.close()
}
