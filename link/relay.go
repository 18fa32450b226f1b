package link

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// RelayIdle is how long a UDP flow through a relay lives without a packet.
const RelayIdle = 30 * time.Second

// Relay puts the link in front of a real server: it listens on the server
// side and forwards each connection (network "tcp") or each flow of
// datagrams (network "udp", one real socket per client address) to target
// over the machine's own network. It returns the address to Dial on the
// client side. The relay stops when ctx is done or n closes; a connection
// that target refuses is closed at once, so the client sees it fail.
func (n *Network) Relay(ctx context.Context, network, target string, dialTimeout time.Duration) (string, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
		l, err := n.Listen("tcp", ":0")
		if err != nil {
			return "", err
		}
		d := net.Dialer{Timeout: dialTimeout}
		r := &tcpRelay{l: l, dial: func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, network, target) }}
		n.onClose(r.stop)
		stop := context.AfterFunc(ctx, r.stop)
		go func() {
			defer stop()
			r.serve()
		}()
		return l.Addr().String(), nil
	case "udp", "udp4", "udp6":
		raddr, err := net.ResolveUDPAddr(network, target)
		if err != nil {
			return "", fmt.Errorf("link: relay to %s: %w", target, err)
		}
		pc, err := n.ListenPacket("udp", ":0")
		if err != nil {
			return "", err
		}
		r := &udpRelay{pc: pc, dial: func() (net.Conn, error) { return net.DialUDP(network, nil, raddr) }, flows: map[string]net.Conn{}}
		n.onClose(r.stop)
		stop := context.AfterFunc(ctx, r.stop)
		go func() {
			defer stop()
			r.serve()
		}()
		return pc.LocalAddr().String(), nil
	}
	return "", fmt.Errorf("link: relay: network %q: want tcp or udp", network)
}

// Forward is Relay the other way round: it listens on the machine's
// loopback and carries each connection over the link to address (ServerIP:port)
// on the server side, for a client that cannot be given a dialer (an outside
// tool, a browser). It returns the loopback address to connect to; each
// connection to it is one connection across the link. It stops when ctx is
// done or n closes.
func (n *Network) Forward(ctx context.Context, address string, dialTimeout time.Duration) (string, error) {
	return n.ForwardFrom(ctx, "127.0.0.1:0", address, dialTimeout)
}

// ForwardFrom is Forward listening on from, a host:port of the machine's
// own (a port of 0 chooses one): for a server whose users reach it at an
// address they were given.
func (n *Network) ForwardFrom(ctx context.Context, from, address string, dialTimeout time.Duration) (string, error) {
	if _, err := addrPort(address, ServerIP); err != nil {
		return "", err
	}
	r, err := forward(ctx, from, func(ctx context.Context) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(ctx, dialTimeout)
		defer cancel()
		return n.Dial(ctx, "tcp", address)
	})
	if err != nil {
		return "", err
	}
	n.onClose(r.stop)
	return r.l.Addr().String(), nil
}

// Forward listens on the machine's loopback and joins each connection
// accepted there to one that dial opens: any dialer (an emulated link, a
// relay behind it) for a client that cannot be given one. It returns the
// loopback address; it stops when ctx is done.
func Forward(ctx context.Context, dial func(ctx context.Context) (net.Conn, error)) (string, error) {
	r, err := forward(ctx, "127.0.0.1:0", dial)
	if err != nil {
		return "", err
	}
	return r.l.Addr().String(), nil
}

func forward(ctx context.Context, from string, dial func(ctx context.Context) (net.Conn, error)) (*tcpRelay, error) {
	l, err := net.Listen("tcp", from)
	if err != nil {
		return nil, fmt.Errorf("link: forward: %w", err)
	}
	r := &tcpRelay{l: l, dial: dial}
	stop := context.AfterFunc(ctx, r.stop)
	go func() {
		defer stop()
		r.serve()
	}()
	return r, nil
}

// ForwardPacket is Forward for datagrams (QUIC): it listens for UDP on
// from, a host:port of the machine's own, and carries each flow (one per
// source address) across the link on a client-side socket of its own to
// address (ServerIP:port), and the answers back; a flow without a packet
// for RelayIdle ends. It returns the address it listens on, and stops when
// ctx is done or n closes.
func (n *Network) ForwardPacket(ctx context.Context, from, address string) (string, error) {
	if _, err := addrPort(address, ServerIP); err != nil {
		return "", err
	}
	pc, err := net.ListenPacket("udp", from)
	if err != nil {
		return "", fmt.Errorf("link: forward: %w", err)
	}
	r := &udpRelay{pc: pc, dial: func() (net.Conn, error) { return n.Dial(ctx, "udp", address) }, flows: map[string]net.Conn{}}
	n.onClose(r.stop)
	stop := context.AfterFunc(ctx, r.stop)
	go func() {
		defer stop()
		r.serve()
	}()
	return pc.LocalAddr().String(), nil
}

// A tcpRelay accepts connections and joins each to one it dials.
type tcpRelay struct {
	l    net.Listener
	dial func(ctx context.Context) (net.Conn, error)

	mu     sync.Mutex // guards the following
	conns  map[net.Conn]struct{}
	closed bool
}

func (r *tcpRelay) serve() {
	for {
		c, err := r.l.Accept()
		if err != nil {
			return
		}
		if !r.track(c) {
			c.Close()
			return
		}
		go r.forward(c)
	}
}

func (r *tcpRelay) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	if r.conns == nil {
		r.conns = map[net.Conn]struct{}{}
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *tcpRelay) untrack(c net.Conn) {
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
	c.Close()
}

func (r *tcpRelay) forward(c net.Conn) {
	defer r.untrack(c)
	out, err := r.dial(context.Background())
	if err != nil {
		return
	}
	if !r.track(out) {
		out.Close()
		return
	}
	defer r.untrack(out)
	done := make(chan struct{})
	go func() {
		defer close(done)
		pump(out, c)
	}()
	pump(c, out)
	<-done
}

// pump copies src to dst and passes on the end of src as a half close, so
// that a request-then-close client still gets its response.
func pump(dst, src net.Conn) {
	_, err := io.Copy(dst, src)
	if cw, ok := dst.(interface{ CloseWrite() error }); ok && err == nil {
		cw.CloseWrite()
		return
	}
	dst.Close()
	src.Close()
}

func (r *tcpRelay) stop() {
	r.mu.Lock()
	r.closed = true
	conns := r.conns
	r.conns = nil
	r.mu.Unlock()
	r.l.Close()
	for c := range conns {
		c.Close()
	}
}

// A udpRelay carries each flow of datagrams arriving at pc (one per source
// address) on a socket of its own that dial makes, and the answers back.
type udpRelay struct {
	pc   net.PacketConn
	dial func() (net.Conn, error)

	mu     sync.Mutex // guards the following
	flows  map[string]net.Conn
	closed bool
}

func (r *udpRelay) serve() {
	buf := make([]byte, 64<<10)
	for {
		n, from, err := r.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		out, err := r.flow(from)
		if err != nil {
			continue
		}
		out.Write(buf[:n])
	}
}

// flow returns the real socket for datagrams from the client address from,
// making it (and its way back) on the first datagram.
func (r *udpRelay) flow(from net.Addr) (net.Conn, error) {
	key := from.String()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	if out := r.flows[key]; out != nil {
		return out, nil
	}
	out, err := r.dial()
	if err != nil {
		return nil, err
	}
	r.flows[key] = out
	go r.back(key, out, from)
	return out, nil
}

// back carries the server's datagrams of one flow to the client until the
// flow is idle for RelayIdle.
func (r *udpRelay) back(key string, out net.Conn, to net.Addr) {
	defer func() {
		r.mu.Lock()
		if r.flows[key] == out {
			delete(r.flows, key)
		}
		r.mu.Unlock()
		out.Close()
	}()
	buf := make([]byte, 64<<10)
	for {
		out.SetReadDeadline(time.Now().Add(RelayIdle))
		n, err := out.Read(buf)
		if err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) {
				// A refused datagram (ICMP) is not the end of the flow.
				continue
			}
			return
		}
		if _, err := r.pc.WriteTo(buf[:n], to); err != nil {
			return
		}
	}
}

func (r *udpRelay) stop() {
	r.mu.Lock()
	r.closed = true
	flows := r.flows
	r.flows = nil
	r.mu.Unlock()
	r.pc.Close()
	for _, out := range flows {
		out.Close()
	}
}

// ListenBehind listens for TCP on the server side and forwards from, a
// host:port of the machine's own (port 0 chooses one), to it: a server that
// serves the returned listener is reached at from by the machine's own
// clients (a person's browser), each connection crossing the link. The
// listener's Addr is the address reached. The forwarder stops when ctx is
// done or n closes, not with the listener, so that connections already
// across finish as the server lets them.
func (n *Network) ListenBehind(ctx context.Context, from string, dialTimeout time.Duration) (net.Listener, error) {
	l, err := n.Listen("tcp", ":0")
	if err != nil {
		return nil, err
	}
	at, err := n.ForwardFrom(ctx, from, l.Addr().String(), dialTimeout)
	if err == nil {
		var a *net.TCPAddr
		if a, err = net.ResolveTCPAddr("tcp", at); err == nil {
			return behindListener{Listener: l, at: a}, nil
		}
	}
	l.Close()
	return nil, err
}

// behindListener is a server-side listener that says where the machine's
// own clients reach it.
type behindListener struct {
	net.Listener
	at net.Addr
}

func (l behindListener) Addr() net.Addr { return l.at }

// ListenPacketBehind is ListenBehind for UDP (QUIC): a server-side socket
// reached at from through ForwardPacket, whose LocalAddr is the address
// reached.
func (n *Network) ListenPacketBehind(ctx context.Context, from string) (net.PacketConn, error) {
	pc, err := n.ListenPacket("udp", ":0")
	if err != nil {
		return nil, err
	}
	at, err := n.ForwardPacket(ctx, from, pc.LocalAddr().String())
	if err == nil {
		var a *net.UDPAddr
		if a, err = net.ResolveUDPAddr("udp", at); err == nil {
			return behindPacketConn{PacketConn: pc, at: a}, nil
		}
	}
	pc.Close()
	return nil, err
}

// behindPacketConn is a server-side UDP socket that says where the
// machine's own clients reach it; it passes on QUIC's requests for socket
// buffers.
type behindPacketConn struct {
	net.PacketConn
	at net.Addr
}

func (c behindPacketConn) LocalAddr() net.Addr { return c.at }

// SetReadBuffer passes the size on to the socket, when it takes one.
func (c behindPacketConn) SetReadBuffer(n int) error {
	if s, ok := c.PacketConn.(interface{ SetReadBuffer(int) error }); ok {
		return s.SetReadBuffer(n)
	}
	return nil
}

// SetWriteBuffer passes the size on to the socket, when it takes one.
func (c behindPacketConn) SetWriteBuffer(n int) error {
	if s, ok := c.PacketConn.(interface{ SetWriteBuffer(int) error }); ok {
		return s.SetWriteBuffer(n)
	}
	return nil
}
