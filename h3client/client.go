// Package h3client is an HTTP/3 client that keeps its promise: every request
// is a stream on exactly one QUIC connection (github.com/quic-go/quic-go).
// Requests beyond the server's stream limit (its MAX_STREAMS) wait for
// QUIC's stream credit, first come first served (quic-go queues openers in
// order); a connection that breaks is replaced and the replacement counted;
// requests in flight on it fail and are counted. Do fills a roundtrip.Info
// with the wait (until the request's HEADERS were written on its stream)
// and the service, as h2client does, and Stats reports the connection and
// QUIC's own view of it: round trip and lost packets.
package h3client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"muxlab/roundtrip"
)

// Errors a caller can test with errors.Is.
var (
	// ErrClosed: the client was closed.
	ErrClosed = roundtrip.NewKind("h3client: client closed", roundtrip.ErrClosed)
	// ErrConnLost: the QUIC connection ended while the request was on it.
	ErrConnLost = roundtrip.NewKind("h3client: connection lost", roundtrip.ErrConnLost)
	// ErrHandshake: no QUIC connection could be made: nothing answered over
	// UDP, or the TLS handshake failed.
	ErrHandshake = roundtrip.NewKind("h3client: QUIC handshake failed", roundtrip.ErrHandshake)
)

// Options configures a Client. Zero fields take the defaults in parentheses.
type Options struct {
	// Addr is the server's host:port, over UDP. Every request goes there,
	// whatever its URL's host, which still becomes the :authority.
	// Required.
	Addr string
	// TLSConfig verifies the server (nil: the system's roots, the server
	// name being Addr's host). NextProtos is set to h3.
	TLSConfig *tls.Config
	// ListenPacket makes the client's UDP socket (nil: one on the machine's
	// network). A socket of an emulated link is given here; then path MTU
	// discovery is off, for a userspace stack sends no ICMP.
	ListenPacket func() (net.PacketConn, error)
	// DialTimeout bounds the QUIC handshake (roundtrip.DefaultDialTimeout,
	// 5s).
	DialTimeout time.Duration
	// MaxResponseHeaderBytes bounds a response's field section, in bytes as
	// RFC 9114 counts them (each field's name and value plus 32), and its
	// HEADERS frame (roundtrip.DefaultMaxResponseHeaderBytes, 1 MiB). A
	// response beyond it fails its request with roundtrip.ErrResponseTooLarge
	// and cancels its stream; the connection carries on.
	MaxResponseHeaderBytes int64
	// StreamLoss measures, per request, how long its stream's data waited
	// on its own lost packets (package internal/quicloss: the request's data
	// sent again, the response's data beyond a hole), as Info.LossHeld. It
	// costs a qlog event per packet, so it is off unless asked for (false:
	// off). A request with a body is sent through quic-go's RoundTrip and
	// is not measured.
	StreamLoss bool
}

func (o *Options) normalize() error {
	if o.Addr == "" {
		return errors.New("h3client: Options.Addr is empty")
	}
	if _, _, err := net.SplitHostPort(o.Addr); err != nil {
		return fmt.Errorf("h3client: Options.Addr %q: %w", o.Addr, err)
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = roundtrip.DefaultDialTimeout
	}
	if o.DialTimeout < 0 {
		return fmt.Errorf("h3client: negative DialTimeout %v", o.DialTimeout)
	}
	if o.MaxResponseHeaderBytes == 0 {
		o.MaxResponseHeaderBytes = roundtrip.DefaultMaxResponseHeaderBytes
	}
	if o.MaxResponseHeaderBytes < 0 || o.MaxResponseHeaderBytes > math.MaxInt32 {
		return fmt.Errorf("h3client: MaxResponseHeaderBytes %d out of range 1 to %d", o.MaxResponseHeaderBytes, math.MaxInt32)
	}
	return nil
}

// Client sends every request on one QUIC connection.
type Client struct {
	opts Options
	h3   *http3.Transport // builds the HTTP/3 layer on our connections
	// s is the one-connection layer h3client shares with h2client:
	// (re)connecting, Close, the counts, the body wrapper.
	s    *roundtrip.Single[*conn]
	lost atomic.Uint64 // packets lost on closed connections
}

// New validates opts and returns a client; it dials nothing until the first
// request (or Connect).
func New(opts Options) (*Client, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	c := &Client{opts: opts, h3: &http3.Transport{DisableCompression: true, MaxResponseHeaderBytes: int(opts.MaxResponseHeaderBytes)}}
	c.s = roundtrip.NewSingle(roundtrip.SingleOptions[*conn]{Name: "h3client", Closed: ErrClosed, Dial: c.dial, Kind: c.roundTripError})
	return c, nil
}

// RoundTrip implements http.RoundTripper.
func (c *Client) RoundTrip(req *http.Request) (*http.Response, error) { return c.Do(req, nil) }

// Do sends req as a stream on the client's connection and fills info (if
// not nil). The caller must close the response body; the request ends then.
// A request that fails once sent is reported, never retried.
func (c *Client) Do(req *http.Request, info *roundtrip.Info) (*http.Response, error) {
	b := &body{c: c}
	b.Info, b.S = info, c.s
	if info == nil {
		info = &b.Own
		b.Info = info
	}
	info.Start = time.Now()
	ctx := req.Context()
	cn, err := c.s.Connect(ctx)
	if err != nil {
		return nil, err
	}
	c.s.Requests.Add(1)
	c.s.Begin(cn)
	info.Conn = cn.Rec.ID
	info.Reused = cn.Rec.Request()
	c.s.Waiting.Inc()
	var resp *http.Response
	if gaps := cn.L.gaps; gaps != nil && (req.Body == nil || req.Body == http.NoBody) {
		var id quic.StreamID
		var stop func() bool
		resp, id, stop, err = c.streamRoundTrip(ctx, cn.L, req, b)
		info.Local, info.Stream, info.Streamed = cn.L.local, uint64(id), true
		if err == nil {
			b.OnEnd = func() {
				stop()
				info.LossHeld = gaps.Take(id, time.Now())
			}
		}
	} else {
		b.trace.WroteHeaders = b.wroteHeaders
		resp, err = cn.L.cc.RoundTrip(req.WithContext(httptrace.WithClientTrace(ctx, &b.trace)))
	}
	info.Acquired = b.sentAt()
	if err != nil {
		b.unwait()
		c.s.Failed.Add(1)
		info.End = time.Now()
		err = c.roundTripError(ctx, cn, err)
		c.s.End(cn)
		return nil, fmt.Errorf("h3client: %s %s on connection %d: %w", req.Method, req.URL, cn.Rec.ID, err)
	}
	b.RC, b.Resp, b.Cn = resp.Body, resp, cn
	resp.Body = b
	return resp, nil
}

// roundTripError gives err one of roundtrip's kinds: the context's cause
// when it ended, ErrClosed, roundtrip.ErrResponseTooLarge, ErrConnLost when
// the connection ended, roundtrip.ErrStreamReset when the server reset the
// stream (quic-go's StreamError still inside). A
// connection-level error (the peer's CONNECTION_CLOSE, an idle timeout, a
// transport error) can reach a stream before the connection's context is
// done: it marks the connection lost at once, so that the next request
// dials again instead of trying a dying one.
func (c *Client) roundTripError(ctx context.Context, cn *roundtrip.Conn[*conn], err error) error {
	var ae *quic.ApplicationError
	var ie *quic.IdleTimeoutError
	var te *quic.TransportError
	var se *quic.StreamError
	switch {
	case context.Cause(ctx) != nil:
		return context.Cause(ctx)
	case c.s.Shut():
		return fmt.Errorf("%w: %w", ErrClosed, err)
	case headTooLarge(err):
		return fmt.Errorf("%w (bound %d bytes): %w", roundtrip.ErrResponseTooLarge, c.opts.MaxResponseHeaderBytes, err)
	case cn.L.qc.Context().Err() != nil, errors.As(err, &ae), errors.As(err, &ie), errors.As(err, &te):
		cn.L.lost.Store(true)
		return fmt.Errorf("%w: %w", ErrConnLost, err)
	case errors.As(err, &se):
		return fmt.Errorf("%w: %w", roundtrip.ErrStreamReset, err)
	}
	return err
}

// headTooLarge reports whether err is quic-go's refusal of a response head
// beyond MaxResponseHeaderBytes. quic-go exports no error value for it (its
// errHeaderTooLarge and the HEADERS frame's length check are unexported or
// formatted), so its two messages are matched here, the one place that
// translates them; TestResponseTooLarge fails if quic-go changes them.
func headTooLarge(err error) bool {
	s := err.Error()
	return strings.Contains(s, "http3: headers too large") || strings.Contains(s, "http3: HEADERS frame too large")
}

// MeasuresStreamLoss reports whether the client fills Info.LossHeld
// (Options.StreamLoss).
func (c *Client) MeasuresStreamLoss() bool { return c.opts.StreamLoss }

// Connect dials and completes the QUIC handshake now rather than on the
// first request. It does nothing if connected.
func (c *Client) Connect(ctx context.Context) error {
	_, err := c.s.Connect(ctx)
	return err
}

// Close closes the connection at once; requests in flight fail, later ones
// get ErrClosed.
func (c *Client) Close() error { return c.s.Close() }

// Stats reports the client's connections and streams.
func (c *Client) Stats() roundtrip.Stats { return c.s.Stats() }

// QUICStats is QUIC's own view of the client's connections.
type QUICStats struct {
	// SmoothedRTT and MinRTT are the current connection's round trip
	// estimates (zero before the first connection).
	SmoothedRTT, MinRTT time.Duration
	// PacketsSent and PacketsLost add up every connection's packets, those
	// QUIC declared lost among them (and sent again, as frames).
	PacketsSent, PacketsLost uint64
}

// QUIC reports QUIC's view of the client's connections.
func (c *Client) QUIC() QUICStats {
	var st QUICStats
	st.PacketsLost = c.lost.Load()
	for _, cn := range c.s.Conns() {
		cs := cn.L.qc.ConnectionStats()
		st.PacketsSent += cs.PacketsSent
		st.PacketsLost += cs.PacketsLost
	}
	if cn := c.s.Current(); cn != nil {
		cs := cn.L.qc.ConnectionStats()
		st.SmoothedRTT, st.MinRTT = cs.SmoothedRTT, cs.MinRTT
	}
	return st
}

// body ends the request when the response body is done (roundtrip.Body),
// and holds the request's trace.
type body struct {
	roundtrip.Body[*conn]
	c     *Client
	trace httptrace.ClientTrace
	// wrote is when the HEADERS were written, as nanoseconds since
	// Info.Start plus one; zero until then.
	wrote   atomic.Int64
	unwaitd atomic.Bool
}

func (b *body) wroteHeaders() {
	b.wrote.Store(int64(time.Since(b.Info.Start)) + 1)
	b.unwait()
}

// unwait ends the request's wait once.
func (b *body) unwait() {
	if !b.unwaitd.Swap(true) {
		b.c.s.Waiting.Dec()
	}
}

// sentAt returns when the HEADERS were written, or now if they never were.
func (b *body) sentAt() time.Time {
	if ns := b.wrote.Load(); ns > 0 {
		return b.Info.Start.Add(time.Duration(ns - 1))
	}
	return time.Now()
}
