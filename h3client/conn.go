package h3client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/quic-go/qlogwriter"

	"muxlab/internal/quicloss"
	"muxlab/roundtrip"
)

// conn is one QUIC connection with its HTTP/3 layer: the roundtrip.Link of
// h3client's roundtrip.Single.
type conn struct {
	c    *Client
	qc   *quic.Conn
	cc   *http3.ClientConn
	tr   *quic.Transport
	pc   net.PacketConn
	lost atomic.Bool       // a request met a connection-level error
	gaps *quicloss.Streams // the requests' streams' waits on their own losses; nil: not measured
	// local is the UDP socket's own address, for Info.Local.
	local netip.AddrPort
}

// Usable reports whether new requests may go on cn.
func (cn *conn) Usable() bool { return !cn.lost.Load() && cn.qc.Context().Err() == nil }

// Close closes the connection and its socket, and keeps its lost packets'
// count in the client's.
func (cn *conn) Close() {
	cn.c.lost.Add(cn.qc.ConnectionStats().PacketsLost)
	cn.qc.CloseWithError(0, "")
	cn.tr.Close()
	cn.pc.Close()
}

// dial makes the client's UDP socket and the QUIC connection over it.
func (c *Client) dial(ctx context.Context) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
	defer cancel()
	raddr, err := net.ResolveUDPAddr("udp", c.opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("h3client: %s: %w", c.opts.Addr, err)
	}
	listen := c.opts.ListenPacket
	custom := listen != nil
	if listen == nil {
		listen = func() (net.PacketConn, error) { return net.ListenUDP("udp", nil) }
	}
	pc, err := listen()
	if err != nil {
		return nil, fmt.Errorf("h3client: a UDP socket: %w", err)
	}
	tlsConf := &tls.Config{}
	if c.opts.TLSConfig != nil {
		tlsConf = c.opts.TLSConfig.Clone()
	}
	tlsConf.NextProtos = []string{http3.NextProtoH3}
	if tlsConf.ServerName == "" {
		tlsConf.ServerName, _, _ = net.SplitHostPort(c.opts.Addr)
	}
	qconf := &quic.Config{HandshakeIdleTimeout: c.opts.DialTimeout, DisablePathMTUDiscovery: custom}
	var gaps *quicloss.Streams
	if c.opts.StreamLoss {
		gaps = quicloss.New(true)
		qconf.Tracer = func(context.Context, bool, quic.ConnectionID) qlogwriter.Trace { return gaps }
	}
	tr := &quic.Transport{Conn: pc}
	c.s.Dials.Add(1)
	qc, err := tr.Dial(ctx, raddr, tlsConf, qconf)
	if err != nil {
		tr.Close()
		pc.Close()
		return nil, handshakeError(c.opts.Addr, ctx, err)
	}
	return &conn{c: c, qc: qc, cc: c.h3.NewClientConn(qc), tr: tr, pc: pc, gaps: gaps, local: roundtrip.AddrPortOf(pc.LocalAddr())}, nil
}

// handshakeError says what was tried: a QUIC handshake to addr over UDP.
func handshakeError(addr string, ctx context.Context, err error) error {
	var idle *quic.IdleTimeoutError
	var hs *quic.HandshakeTimeoutError
	var ce *tls.CertificateVerificationError
	switch {
	case errors.As(err, &ce):
		return fmt.Errorf("%w: QUIC handshake with %s over UDP: the server's certificate does not verify: %w", ErrHandshake, addr, ce.Err)
	case errors.As(err, &idle), errors.As(err, &hs), errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%w: QUIC handshake with %s over UDP: no answer within the dial timeout: is anything serving HTTP/3 on that UDP port? (%w)",
			ErrHandshake, addr, err)
	}
	return fmt.Errorf("%w: QUIC handshake with %s over UDP: %w", ErrHandshake, addr, roundtrip.CauseOf(ctx, err))
}
