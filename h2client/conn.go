package h2client

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/net/http2"

	"muxlab/internal/rawconn"
	"muxlab/roundtrip"
)

// conn is one HTTP/2 connection and its stream slots: the roundtrip.Link
// of h2client's roundtrip.Single.
type conn struct {
	cc *wire
	// slots holds a token per stream in flight; its capacity is the
	// server's MAX_CONCURRENT_STREAMS (at most MaxStreamSlots).
	slots      chan struct{}
	maxStreams uint32
	local      netip.AddrPort // the connection's own end, for Info.Local
}

// Usable reports whether new streams may be opened on cn.
func (cn *conn) Usable() bool { return cn.cc.CanTakeNewRequest() }

// Close closes the connection at once.
func (cn *conn) Close() { cn.cc.Close() }

// dial opens a connection and completes the HTTP/2 handshake: the server's
// SETTINGS must have arrived, so that its MAX_CONCURRENT_STREAMS is known
// before the first request is sent.
func (c *Client) dial(ctx context.Context) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
	defer cancel()
	addr := c.opts.Addr
	nc, err := c.opts.Dial(ctx, "tcp", addr)
	if err != nil {
		if noApplicationProtocol(err) { // a TLS server that offers no h2
			return nil, fmt.Errorf("h2client: dial %s: it does not offer h2 through ALPN: is it an HTTP/1.1-only TLS listener? (%w: %w)", addr, ErrHandshake, err)
		}
		return nil, fmt.Errorf("h2client: dial %s: %w", addr, roundtrip.CauseOf(ctx, err))
	}
	c.s.Dials.Add(1)
	var pc *prefaceConn
	if tc, ok := nc.(*tls.Conn); ok {
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("h2client: TLS handshake with %s: %w", addr, err)
		}
		if p := tc.ConnectionState().NegotiatedProtocol; p != http2.NextProtoTLS {
			nc.Close()
			return nil, fmt.Errorf("%w: %s negotiated %q through ALPN, not h2: is it an HTTP/1.1-only TLS listener?", ErrHandshake, addr, p)
		}
	} else {
		pc = &prefaceConn{Conn: rawconn.Wrap(nc)} // see package rawconn
		nc = pc
	}
	local := roundtrip.AddrPortOf(nc.LocalAddr())
	cc, err := newWire(nc, c.opts.MaxReadFrameSize, uint32(c.opts.MaxResponseHeaderBytes))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("h2client: start HTTP/2 with %s: %w", addr, err)
	}
	// The server sends its SETTINGS before it acknowledges a PING, so once
	// the PING is answered its limits are in force.
	if err := cc.Ping(ctx); err != nil {
		cc.Close()
		return nil, handshakeError(addr, pc, ctx, err)
	}
	st := cc.State()
	slots := min(st.MaxConcurrentStreams, MaxStreamSlots)
	if slots == 0 {
		slots = 1
	}
	return &conn{cc: cc, slots: make(chan struct{}, slots), maxStreams: st.MaxConcurrentStreams, local: local}, nil
}

// handshakeError explains why the server did not speak HTTP/2.
func handshakeError(addr string, pc *prefaceConn, ctx context.Context, err error) error {
	if pc != nil && bytes.HasPrefix(pc.head(), []byte("HTTP/")) {
		return fmt.Errorf("%w: %s did not answer the HTTP/2 preface: is it an HTTP/1.1-only listener? (it answered %q)",
			ErrHandshake, addr, pc.head())
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: %s did not answer the HTTP/2 preface within the dial timeout: is it an h2c server? (%w)",
			ErrHandshake, addr, context.DeadlineExceeded)
	}
	return fmt.Errorf("%w with %s: %w", ErrHandshake, addr, err)
}

// prefaceConn remembers the first bytes the server sent, to tell an HTTP/1.1
// answer from a broken HTTP/2 one.
type prefaceConn struct {
	net.Conn
	full  atomic.Bool
	mu    sync.Mutex // mu guards first
	first []byte
}

const prefaceBytes = 16

func (p *prefaceConn) Read(b []byte) (int, error) {
	n, err := p.Conn.Read(b)
	if n > 0 && !p.full.Load() {
		p.mu.Lock()
		p.first = append(p.first, b[:min(n, prefaceBytes-len(p.first))]...)
		p.full.Store(len(p.first) == prefaceBytes)
		p.mu.Unlock()
	}
	return n, err
}

func (p *prefaceConn) head() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.first)
}

// noApplicationProtocol reports whether err is the TLS alert 120 that a
// server sends when it offers none of the protocols asked for through ALPN.
// crypto/tls reports a received alert as a *net.OpError "remote error"
// around an unexported uint8 type, so the alert's number is read by kind.
func noApplicationProtocol(err error) bool {
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "remote error" {
		return false
	}
	v := reflect.ValueOf(op.Err)
	return v.Kind() == reflect.Uint8 && v.Uint() == 120
}
