package link

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

const nicID = 1

// quicBuffer is the UDP socket buffer quic-go asks for, bytes.
const quicBuffer = 7 << 20

// userspace is the link's stacks in process: two of gVisor's netstacks,
// each with an endpoint (its network card) on the link's pipes.
type userspace struct {
	client, server *stack.Stack
}

// newUserspace builds the two stacks and joins them with up and down,
// which it makes.
func newUserspace(opts Options, rep *repairs) (*userspace, *pipe, *pipe, error) {
	cep := &endpoint{mtu: uint32(opts.MTU)}
	sep := &endpoint{mtu: uint32(opts.MTU)}
	up := newPipe(opts.Up, opts.Seed, 1, sep, rep)
	down := newPipe(opts.Down, opts.Seed, 2, cep, rep)
	cep.out, sep.out = up, down
	u := &userspace{}
	var err error
	if u.client, err = newStack(cep, ClientIP, opts); err == nil {
		u.server, err = newStack(sep, ServerIP, opts)
	}
	if err != nil {
		u.close()
		up.close()
		down.close()
		u.wait()
		return nil, nil, nil, err
	}
	return u, up, down, nil
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
	// UDP sockets take the buffers quic-go asks for (7 MiB), which
	// udpConn cannot pass on; on the kernel stack quic-go sets them itself.
	// With gVisor's default of 212 KiB a QUIC connection lost packets at
	// its own socket, not on the link.
	if err := s.SetOption(tcpip.ReceiveBufferSizeOption{Min: stack.MinBufferSize, Default: quicBuffer, Max: quicBuffer}); err != nil {
		s.Close()
		return nil, fmt.Errorf("link: udp receive buffer: %s", err)
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

func fullAddress(a netip.AddrPort) tcpip.FullAddress {
	return tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom4(a.Addr().As4()), Port: a.Port()}
}

func (u *userspace) dialTCP(ctx context.Context, to netip.AddrPort) (net.Conn, error) {
	return gonet.DialContextTCP(ctx, u.client, fullAddress(to), ipv4.ProtocolNumber)
}

func (u *userspace) dialUDP(to netip.AddrPort) (net.Conn, error) {
	r := fullAddress(to)
	return gonet.DialUDP(u.client, nil, &r, ipv4.ProtocolNumber)
}

func (u *userspace) clientPacket() (net.PacketConn, error) {
	local := tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom4(ClientIP.As4())}
	c, err := gonet.DialUDP(u.client, &local, nil, ipv4.ProtocolNumber)
	if err != nil {
		return nil, err
	}
	return udpConn{c}, nil
}

func (u *userspace) listenTCP(at netip.AddrPort) (net.Listener, error) {
	return gonet.ListenTCP(u.server, fullAddress(at), ipv4.ProtocolNumber)
}

func (u *userspace) listenUDP(at netip.AddrPort) (net.PacketConn, error) {
	a := fullAddress(at)
	c, err := gonet.DialUDP(u.server, &a, nil, ipv4.ProtocolNumber)
	if err != nil {
		return nil, err
	}
	return udpConn{c}, nil
}

// udpConn is a stack's UDP socket as QUIC wants one: quic-go asks to size
// its buffers, which the stack's defaults already give (quicBuffer), so the
// asking succeeds and changes nothing.
type udpConn struct{ *gonet.UDPConn }

// SetReadBuffer accepts any size: see udpConn.
func (udpConn) SetReadBuffer(int) error { return nil }

// SetWriteBuffer accepts any size: see udpConn.
func (udpConn) SetWriteBuffer(int) error { return nil }

func (u *userspace) tcp() (client, server TCP) {
	return tcpStats(u.client, true), tcpStats(u.server, false)
}

func (u *userspace) udp() (client, server UDP) {
	return udpStats(u.client), udpStats(u.server)
}

func udpStats(s *stack.Stack) UDP {
	st := s.Stats().UDP
	return UDP{Sent: v(st.PacketsSent), BufferDrops: v(st.ReceiveBufferErrors)}
}

func (u *userspace) clientNamespace() string { return "" }

func (u *userspace) deviceDrops() (up, down int64) { return 0, 0 }

// close aborts every connection on both stacks.
func (u *userspace) close() {
	for _, s := range []*stack.Stack{u.client, u.server} {
		if s != nil {
			s.Close()
		}
	}
}

// wait frees the stacks once the pipes have stopped.
func (u *userspace) wait() {
	for _, s := range []*stack.Stack{u.client, u.server} {
		if s != nil {
			s.Wait()
			s.Destroy()
		}
	}
}

func tcpStats(s *stack.Stack, active bool) TCP {
	st := s.Stats().TCP
	conns := st.PassiveConnectionOpenings
	if active {
		conns = st.ActiveConnectionOpenings
	}
	return TCP{
		Segments: v(st.SegmentsSent), Retransmits: v(st.Retransmits), Timeouts: v(st.Timeouts),
		FastRetransmits: v(st.FastRetransmit), ProbeRecoveries: v(st.TLPRecovery),
		SpuriousRecoveries: v(st.SpuriousRecovery), Connections: v(conns),
	}
}

func v(c *tcpip.StatCounter) int64 { return int64(c.Value()) }
