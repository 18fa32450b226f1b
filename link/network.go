// Package link emulates the network between a client and a server, in
// process: in each direction a delay, jitter that never reorders, a
// bottleneck rate, a drop-tail queue and random or bursty loss, applied to
// every IP packet that crosses. The packets come from one of two stacks
// (Options.Stack), and the link model is the same code for both:
//
//   - the machine's own Linux kernel (StackKernel), with the client and the
//     server in two network namespaces of the process's own, each with a TUN
//     device whose packets the link carries to the other: what a real
//     server and a real client's TCP do, where the process may make
//     namespaces (root, or CAP_SYS_ADMIN and CAP_NET_ADMIN);
//   - gVisor's userspace netstack (StackUserspace), which needs no
//     privilege and runs on every OS.
//
// TCP on either is real TCP: handshakes, slow start, congestion control,
// SACK and retransmissions happen in the stacks, so one lost packet on a
// connection holds back everything behind it, as on a real network.
//
// The client side dials (Dial, DialPacket); the server side listens (Listen,
// ListenPacket), so net/http servers and clients run over it unchanged, and
// Relay puts the link in front of a real server. Stats reports the link's
// truth: packets, bytes, drops by cause, the stacks' TCP counts and how late
// packets were delivered against their schedule.
package link

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
)

// The two ends' addresses. Listeners on the server side bind ServerIP;
// clients dial it. On the kernel stack they live only in the process's own
// namespaces.
var (
	ClientIP = netip.AddrFrom4([4]byte{10, 77, 0, 1})
	ServerIP = netip.AddrFrom4([4]byte{10, 77, 0, 2})
)

// ErrClosed is returned by a Network that has been closed.
var ErrClosed = errors.New("link: network closed")

// A carrier is one of the link's stacks: where the client's sockets and the
// server's are made, and what they counted.
type carrier interface {
	dialTCP(ctx context.Context, to netip.AddrPort) (net.Conn, error)
	dialUDP(to netip.AddrPort) (net.Conn, error)
	clientPacket() (net.PacketConn, error)
	listenTCP(at netip.AddrPort) (net.Listener, error)
	listenUDP(at netip.AddrPort) (net.PacketConn, error)
	tcp() (client, server TCP)
	udp() (client, server UDP)
	// deviceDrops is what the senders' own devices dropped before the link
	// saw it, client to server and back.
	deviceDrops() (up, down int64)
	// clientNamespace is the path of the client's network namespace for
	// another program to join; empty on a stack in process.
	clientNamespace() string
	// close aborts every connection; wait frees the rest once the pipes
	// have stopped.
	close()
	wait()
}

// Network is an emulated link between a client stack and a server stack.
type Network struct {
	opts     Options
	why      string
	stk      carrier
	up, down *pipe
	repairs  *repairs // the TCP connections' waits on retransmissions

	mu      sync.Mutex // guards the following
	closed  bool
	closers []func() // relays to stop on Close
}

// New builds the two stacks and the link between them. With Options.Stack
// StackAuto it takes the kernel's where KernelSupport allows, and
// gVisor's otherwise; Stack says which and why.
func New(opts Options) (*Network, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	n := &Network{opts: opts, repairs: newRepairs()}
	switch opts.Stack {
	case StackAuto:
		if err := KernelSupport(); err != nil {
			n.opts.Stack, n.why = StackUserspace, "auto: userspace, as "+stackProblem(err)
		} else {
			n.opts.Stack, n.why = StackKernel, "auto: the kernel, as this process may make network namespaces and TUN devices"
		}
		if err := n.opts.checkCongestionControl(); err != nil {
			return nil, err
		}
	case StackKernel:
		if err := KernelSupport(); err != nil {
			return nil, err
		}
		n.why = "chosen"
	default:
		n.why = "chosen"
	}
	var err error
	if n.opts.Stack == StackKernel {
		n.stk, n.up, n.down, err = newKernel(n.opts, n.repairs)
	} else {
		n.stk, n.up, n.down, err = newUserspace(n.opts, n.repairs)
	}
	if err != nil {
		return nil, err
	}
	return n, nil
}

// Options returns the link's options, defaults filled in and Stack the one
// chosen.
func (n *Network) Options() Options { return n.opts }

// Stack names the stack that carries the link, StackKernel or
// StackUserspace, and why: "chosen", or for StackAuto what decided.
func (n *Network) Stack() (name, why string) { return n.opts.Stack, n.why }

// Close aborts every connection on both stacks, stops the relays and the
// link. It is safe to call more than once.
func (n *Network) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	closers := n.closers
	n.closers = nil
	n.mu.Unlock()
	for _, c := range closers {
		c()
	}
	n.stk.close()
	n.up.close()
	n.down.close()
	n.stk.wait()
	return nil
}

func (n *Network) isClosed() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.closed
}

// addrPort parses "host:port" on the side whose address is ip: the host
// must be empty or that address.
func addrPort(address string, ip netip.Addr) (netip.AddrPort, error) {
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("link: address %q: %w", address, err)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("link: address %q: port %q is not a number from 0 to 65535", address, portText)
	}
	if host != "" {
		a, err := netip.ParseAddr(host)
		if err != nil || a.Unmap() != ip {
			return netip.AddrPort{}, fmt.Errorf("link: address %q: the host must be %s, the emulated server", address, ip)
		}
	}
	return netip.AddrPortFrom(ip, uint16(port)), nil
}

// Dial connects from the client side to address (ServerIP:port) on the
// server side. network is "tcp" or "tcp4" for a stream, "udp" or "udp4" for
// a connected datagram socket.
func (n *Network) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	if n.isClosed() {
		return nil, ErrClosed
	}
	to, err := addrPort(address, ServerIP)
	if err != nil {
		return nil, err
	}
	switch network {
	case "tcp", "tcp4":
		c, err := n.stk.dialTCP(ctx, to)
		if err != nil {
			return nil, fmt.Errorf("link: dial %s over the emulated link: %w", address, err)
		}
		return c, nil
	case "udp", "udp4":
		c, err := n.stk.dialUDP(to)
		if err != nil {
			return nil, fmt.Errorf("link: dial udp %s over the emulated link: %w", address, err)
		}
		return c, nil
	}
	return nil, fmt.Errorf("link: dial: network %q: want tcp or udp", network)
}

// DialPacket opens an unconnected UDP socket on the client side, for a
// client (QUIC) that addresses its packets itself.
func (n *Network) DialPacket() (net.PacketConn, error) {
	if n.isClosed() {
		return nil, ErrClosed
	}
	c, err := n.stk.clientPacket()
	if err != nil {
		return nil, fmt.Errorf("link: udp socket on the client side: %w", err)
	}
	return c, nil
}

// Listen listens for TCP on the server side; address is ":port" or
// "ServerIP:port", port 0 choosing a free one.
func (n *Network) Listen(network, address string) (net.Listener, error) {
	if n.isClosed() {
		return nil, ErrClosed
	}
	if network != "tcp" && network != "tcp4" {
		return nil, fmt.Errorf("link: listen: network %q: want tcp", network)
	}
	at, err := addrPort(address, ServerIP)
	if err != nil {
		return nil, err
	}
	l, err := n.stk.listenTCP(at)
	if err != nil {
		return nil, fmt.Errorf("link: listen on %s: %w", address, err)
	}
	return l, nil
}

// ListenPacket opens a UDP socket on the server side.
func (n *Network) ListenPacket(network, address string) (net.PacketConn, error) {
	if n.isClosed() {
		return nil, ErrClosed
	}
	if network != "udp" && network != "udp4" {
		return nil, fmt.Errorf("link: listen packet: network %q: want udp", network)
	}
	at, err := addrPort(address, ServerIP)
	if err != nil {
		return nil, err
	}
	c, err := n.stk.listenUDP(at)
	if err != nil {
		return nil, fmt.Errorf("link: listen udp on %s: %w", address, err)
	}
	return c, nil
}

// ClientNamespace returns, on the kernel stack, the path of the client's
// network namespace (/proc/PID/fd/N, valid while the process and the link
// live), for a program of its own (a browser) to run in with nsenter
// --net=PATH: it then dials the server side across the link. It reports
// false on the userspace stack, whose client side is in process: a program
// reaches the link there through Forward and ForwardPacket.
func (n *Network) ClientNamespace() (string, bool) {
	p := n.stk.clientNamespace()
	return p, p != ""
}

// onClose registers f to run when n closes; it runs f at once if n is closed.
func (n *Network) onClose(f func()) {
	n.mu.Lock()
	if !n.closed {
		n.closers = append(n.closers, f)
		n.mu.Unlock()
		return
	}
	n.mu.Unlock()
	f()
}
