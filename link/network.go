// Package link emulates the network between a client and a server, in
// process: two userspace TCP/IP stacks (gVisor's netstack) joined by a link
// with, in each direction, a delay, jitter that never reorders, a bottleneck
// rate, a drop-tail queue and random or bursty loss. TCP on it is real TCP:
// handshakes, slow start, congestion control, SACK and retransmissions all
// happen in the stacks, so one lost packet on a connection holds back
// everything behind it, as on a real network. It needs no root and runs the
// same on every OS.
//
// The client side dials (Dial, DialPacket); the server side listens (Listen,
// ListenPacket), so net/http servers and clients run over it unchanged, and
// Relay puts the link in front of a real server. Stats reports the link's
// truth: packets, bytes, drops by cause, TCP retransmissions and how late
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

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// The two ends' addresses. Listeners on the server side bind ServerIP;
// clients dial it.
var (
	ClientIP = netip.AddrFrom4([4]byte{10, 77, 0, 1})
	ServerIP = netip.AddrFrom4([4]byte{10, 77, 0, 2})
)

// ErrClosed is returned by a Network that has been closed.
var ErrClosed = errors.New("link: network closed")

const nicID = 1

// Network is an emulated link between a client stack and a server stack.
type Network struct {
	opts           Options
	client, server *stack.Stack
	up, down       *pipe

	mu      sync.Mutex // guards the following
	closed  bool
	closers []func() // relays to stop on Close
}

// New builds the two stacks and the link between them.
func New(opts Options) (*Network, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	cep := &endpoint{mtu: uint32(opts.MTU)}
	sep := &endpoint{mtu: uint32(opts.MTU)}
	n := &Network{opts: opts}
	n.up = newPipe(opts.Up, opts.Seed, 1, sep)
	n.down = newPipe(opts.Down, opts.Seed, 2, cep)
	cep.out, sep.out = n.up, n.down
	var err error
	if n.client, err = newStack(cep, ClientIP, opts); err == nil {
		n.server, err = newStack(sep, ServerIP, opts)
	}
	if err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

func newStack(ep *endpoint, ip netip.Addr, opts Options) (*stack.Stack, error) {
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol},
	})
	sack := tcpip.TCPSACKEnabled(true)
	cc := tcpip.CongestionControlOption(opts.CongestionControl)
	moderate := tcpip.TCPModerateReceiveBufferOption(true)
	// Buffers large enough for a long fat link (a satellite's 600 ms at
	// 50 Mbit/s is 3.75 MB in flight), grown by moderation as Linux does.
	rcv := tcpip.TCPReceiveBufferSizeRangeOption{Min: 4 << 10, Default: 1 << 20, Max: 8 << 20}
	snd := tcpip.TCPSendBufferSizeRangeOption{Min: 4 << 10, Default: 1 << 20, Max: 8 << 20}
	for _, opt := range []tcpip.SettableTransportProtocolOption{&sack, &cc, &moderate, &rcv, &snd} {
		if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, opt); err != nil {
			s.Close()
			return nil, fmt.Errorf("link: tcp option %T: %s", opt, err)
		}
	}
	if err := s.CreateNIC(nicID, ep); err != nil {
		s.Close()
		return nil, fmt.Errorf("link: create NIC: %s", err)
	}
	addr := tcpip.ProtocolAddress{
		Protocol:          ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddrFrom4(ip.As4()).WithPrefix(),
	}
	if err := s.AddProtocolAddress(nicID, addr, stack.AddressProperties{}); err != nil {
		s.Close()
		return nil, fmt.Errorf("link: add address: %s", err)
	}
	s.SetRouteTable([]tcpip.Route{{Destination: header.IPv4EmptySubnet, NIC: nicID}})
	return s, nil
}

// Options returns the link's options, defaults filled in.
func (n *Network) Options() Options { return n.opts }

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
	for _, s := range []*stack.Stack{n.client, n.server} {
		if s != nil {
			s.Close()
		}
	}
	n.up.close()
	n.down.close()
	for _, s := range []*stack.Stack{n.client, n.server} {
		if s != nil {
			s.Wait()
			s.Destroy()
		}
	}
	return nil
}

func (n *Network) isClosed() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.closed
}

// fullAddr parses "host:port" on the side whose address is ip: the host
// must be empty, that address, or (for dialling) the server's address.
func fullAddr(address string, ip netip.Addr) (tcpip.FullAddress, error) {
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return tcpip.FullAddress{}, fmt.Errorf("link: address %q: %w", address, err)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return tcpip.FullAddress{}, fmt.Errorf("link: address %q: port %q is not a number from 0 to 65535", address, portText)
	}
	if host != "" {
		a, err := netip.ParseAddr(host)
		if err != nil || a.Unmap() != ip {
			return tcpip.FullAddress{}, fmt.Errorf("link: address %q: the host must be %s, the emulated server", address, ip)
		}
	}
	return tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom4(ip.As4()), Port: uint16(port)}, nil
}

// Dial connects from the client side to address (ServerIP:port) on the
// server side. network is "tcp" or "tcp4" for a stream, "udp" or "udp4" for
// a connected datagram socket.
func (n *Network) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	if n.isClosed() {
		return nil, ErrClosed
	}
	to, err := fullAddr(address, ServerIP)
	if err != nil {
		return nil, err
	}
	switch network {
	case "tcp", "tcp4":
		c, err := gonet.DialContextTCP(ctx, n.client, to, ipv4.ProtocolNumber)
		if err != nil {
			return nil, fmt.Errorf("link: dial %s over the emulated link: %w", address, err)
		}
		return c, nil
	case "udp", "udp4":
		c, err := gonet.DialUDP(n.client, nil, &to, ipv4.ProtocolNumber)
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
	local := tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom4(ClientIP.As4())}
	c, err := gonet.DialUDP(n.client, &local, nil, ipv4.ProtocolNumber)
	if err != nil {
		return nil, fmt.Errorf("link: udp socket on the client side: %w", err)
	}
	return udpConn{c}, nil
}

// udpConn is a stack's UDP socket as QUIC wants one: quic-go asks to size
// its buffers, which the stack's defaults already leave room for, so the
// asking succeeds and changes nothing.
type udpConn struct{ *gonet.UDPConn }

// SetReadBuffer accepts any size: see udpConn.
func (udpConn) SetReadBuffer(int) error { return nil }

// SetWriteBuffer accepts any size: see udpConn.
func (udpConn) SetWriteBuffer(int) error { return nil }

// Listen listens for TCP on the server side; address is ":port" or
// "ServerIP:port", port 0 choosing a free one.
func (n *Network) Listen(network, address string) (net.Listener, error) {
	if n.isClosed() {
		return nil, ErrClosed
	}
	if network != "tcp" && network != "tcp4" {
		return nil, fmt.Errorf("link: listen: network %q: want tcp", network)
	}
	at, err := fullAddr(address, ServerIP)
	if err != nil {
		return nil, err
	}
	l, err := gonet.ListenTCP(n.server, at, ipv4.ProtocolNumber)
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
	at, err := fullAddr(address, ServerIP)
	if err != nil {
		return nil, err
	}
	c, err := gonet.DialUDP(n.server, &at, nil, ipv4.ProtocolNumber)
	if err != nil {
		return nil, fmt.Errorf("link: listen udp on %s: %w", address, err)
	}
	return udpConn{c}, nil
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
