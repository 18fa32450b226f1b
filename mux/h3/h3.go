// Package h3 serves a mux server's endpoints over HTTP/3 (QUIC, with
// github.com/quic-go/quic-go's http3) on a UDP socket. The mux server
// counts its connections and requests as its listener "h3", beside its TCP
// listeners: QUIC connections accepted, requests (streams) per connection
// and the peak in flight on one, with the same handler, headers
// (Muxlab-Proto: HTTP/3.0, Muxlab-Conn) and bounds. It is a package of its
// own so that the server's core stays free of quic-go.
package h3

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"muxlab/mux"
)

// Defaults of Options.
const (
	// DefaultMaxStreams is how many requests one client may have in flight
	// on one connection, as HTTP/2's MAX_CONCURRENT_STREAMS is for h2.
	DefaultMaxStreams = mux.DefaultMaxConcurrentStreams
	// DefaultHandshakeTimeout bounds a QUIC handshake, as ReadHeaderTimeout
	// bounds a TCP client that sends nothing.
	DefaultHandshakeTimeout = 10 * time.Second
	// DefaultRetryAbove is how many handshakes may be in progress before
	// new attempts must validate their address with a Retry (one more
	// round trip, and no state kept until the client comes back).
	DefaultRetryAbove = 64
	// DefaultMaxHandshakes is how many handshakes may be in progress at
	// once; attempts beyond are refused (CONNECTION_REFUSED).
	DefaultMaxHandshakes = 1024
)

// Options configures a Listener. Zero fields take the defaults in
// parentheses.
type Options struct {
	// Addr is the UDP address to listen on, "127.0.0.1:8443". Ignored when
	// PacketConn is set.
	Addr string
	// PacketConn is a socket made by the caller (an emulated link's), served
	// instead of binding Addr. The listener closes it.
	PacketConn net.PacketConn
	// Certificate is the TLS certificate (the mux server's, or a new
	// self-signed one when it has none).
	Certificate *tls.Certificate
	// MaxStreams is how many requests a client may have in flight on one
	// connection (DefaultMaxStreams, 250).
	MaxStreams int64
	// HandshakeTimeout bounds the QUIC handshake (DefaultHandshakeTimeout,
	// 10s); the server's IdleTimeout closes idle connections.
	HandshakeTimeout time.Duration
	// RetryAbove is how many handshakes may be in progress before new
	// attempts are sent a Retry to validate their address (RFC 9000,
	// 8.1.2): a flood of Initials from addresses that never answer then
	// costs the server a stateless packet each (DefaultRetryAbove, 64;
	// negative: every attempt is sent a Retry).
	RetryAbove int64
	// MaxHandshakes caps the handshakes in progress at once; attempts
	// beyond it are refused and counted (DefaultMaxHandshakes, 1024).
	MaxHandshakes int64
	// StreamLoss records, per request stream, what QUIC's loss recovery
	// cost it, for Listener.StreamLoss. It costs a qlog event per packet,
	// so it is off unless asked for (false: off).
	StreamLoss bool
}

// Listener is a running HTTP/3 listener.
type Listener struct {
	ext  *mux.External
	ln   *quic.Listener
	tr   *quic.Transport
	pc   net.PacketConn
	srv  *http3.Server
	addr string
	// losses is what loss recovery cost each stream; nil unless
	// Options.StreamLoss.
	losses *streamLosses

	wg   sync.WaitGroup // the accept loop and each connection's
	once sync.Once
	done chan struct{}
}

// Listen binds the UDP socket and registers the listener with s as
// mux.ListenerH3; serving starts with Start.
func Listen(s *mux.Server, o Options) (*Listener, error) {
	so := s.Options()
	if o.MaxStreams == 0 {
		o.MaxStreams = DefaultMaxStreams
	}
	if o.MaxStreams < 1 || o.MaxStreams > 1<<20 {
		return nil, fmt.Errorf("h3: MaxStreams %d is out of range; allowed 1 to %d", o.MaxStreams, 1<<20)
	}
	if o.HandshakeTimeout == 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.RetryAbove == 0 {
		o.RetryAbove = DefaultRetryAbove
	}
	if o.MaxHandshakes == 0 {
		o.MaxHandshakes = DefaultMaxHandshakes
	}
	if o.MaxHandshakes < 1 {
		return nil, fmt.Errorf("h3: MaxHandshakes %d is out of range; allowed 1 or more", o.MaxHandshakes)
	}
	cert := o.Certificate
	if cert == nil {
		cert = s.Certificate()
	}
	if cert == nil {
		var err error
		if cert, err = mux.SelfSignedCertificate(); err != nil {
			return nil, err
		}
	}
	pc := o.PacketConn
	if pc == nil {
		var err error
		if pc, err = net.ListenPacket("udp", o.Addr); err != nil {
			return nil, &mux.ListenError{Listener: mux.ListenerH3, Addr: o.Addr, Err: err}
		}
	}
	tlsConf := http3.ConfigureTLSConfig(&tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS13})
	qconf := &quic.Config{
		MaxIncomingStreams:    o.MaxStreams,
		MaxIncomingUniStreams: 16,
		HandshakeIdleTimeout:  o.HandshakeTimeout,
		MaxIdleTimeout:        so.IdleTimeout,
		Allow0RTT:             false,
	}
	l := &Listener{pc: pc, addr: pc.LocalAddr().String(), done: make(chan struct{})}
	if o.StreamLoss {
		l.losses = newStreamLosses()
		qconf.Tracer = l.losses.trace
	}
	var err error
	l.ext, err = s.AddExternal(mux.ListenerH3, l.addr, true, l.stop)
	if err != nil {
		pc.Close()
		return nil, err
	}
	l.tr = &quic.Transport{Conn: pc, VerifySourceAddress: l.verify(o.RetryAbove), ConnContext: l.gate(o.MaxHandshakes)}
	// Not ListenEarly: an early listener hands over a connection before its
	// handshake completes, so a flood of Initials would be served and
	// counted as connections. Without 0-RTT the first request cannot come
	// before the handshake's end anyway.
	l.ln, err = l.tr.Listen(tlsConf, qconf)
	if err != nil {
		l.tr.Close()
		pc.Close()
		return nil, &mux.ListenError{Listener: mux.ListenerH3, Addr: o.Addr, Err: err}
	}
	l.srv = &http3.Server{
		Handler:        s.Handler(),
		MaxHeaderBytes: so.MaxHeaderBytes,
		IdleTimeout:    so.IdleTimeout,
		ConnContext: func(ctx context.Context, c *quic.Conn) context.Context {
			return l.ext.Opened(ctx, c, c.RemoteAddr().String())
		},
	}
	return l, nil
}

// Addr is the bound UDP address.
func (l *Listener) Addr() string { return l.addr }

// URL is "https://ADDR".
func (l *Listener) URL() string { return "https://" + l.addr }

// Start accepts and serves connections in the background until the mux
// server (or Close) stops the listener.
func (l *Listener) Start() {
	l.wg.Go(func() {
		for {
			c, err := l.ln.Accept(context.Background())
			if err != nil {
				return
			}
			if hs, ok := c.Context().Value(handshakeKey{}).(*handshake); ok {
				hs.finish(l.ext, true)
			}
			l.wg.Go(func() {
				defer l.ext.Closed(c)
				l.srv.ServeQUICConn(c)
				// ServeQUICConn returns when the HTTP/3 layer is done;
				// the connection may close a little later.
				select {
				case <-c.Context().Done():
				case <-l.done:
				}
			})
		}
	})
}

// Close stops the listener at once: connections are closed.
func (l *Listener) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return l.stop(ctx)
}

// stop shuts the HTTP/3 server down gracefully until ctx is done, then
// closes the listener, its connections and its socket.
func (l *Listener) stop(ctx context.Context) error {
	var err error
	l.once.Do(func() {
		if l.ln == nil { // Listen failed: only the registration is left
			close(l.done)
			return
		}
		err = l.srv.Shutdown(ctx)
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			err = l.srv.Close()
		}
		close(l.done)
		l.ln.Close()
		l.tr.Close()
		l.pc.Close()
		l.wg.Wait()
	})
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// handshakeKey keys a connection attempt's *handshake in its context.
type handshakeKey struct{}

// handshake is one connection attempt let through the gate, finished once:
// by the accept loop when it completes, or when its context ends first.
type handshake struct{ done atomic.Bool }

func (h *handshake) finish(e *mux.External, completed bool) {
	if h.done.CompareAndSwap(false, true) {
		e.HandshakeDone(completed)
	}
}

// verify asks for a Retry (address validation) when more than above
// handshakes are in progress (above < 0: always).
func (l *Listener) verify(above int64) func(net.Addr) bool {
	return func(net.Addr) bool {
		retry := above < 0 || l.ext.HandshakesInProgress() >= above
		l.ext.Attempt(retry)
		return retry
	}
}

// gate counts every connection attempt and refuses one beyond max
// handshakes in progress.
func (l *Listener) gate(max int64) func(context.Context, *quic.ClientInfo) (context.Context, error) {
	return func(ctx context.Context, ci *quic.ClientInfo) (context.Context, error) {
		if !l.ext.Handshake(ci.AddrVerified, max) {
			return nil, errTooManyHandshakes
		}
		hs := new(handshake)
		// The context ends when the handshake fails or the connection
		// closes; by then a completed handshake was counted.
		context.AfterFunc(ctx, func() { hs.finish(l.ext, false) })
		return context.WithValue(context.WithValue(ctx, handshakeKey{}, hs), remoteKey{}, ci.RemoteAddr), nil
	}
}

// errTooManyHandshakes refuses an attempt beyond MaxHandshakes.
var errTooManyHandshakes = errors.New("h3: too many handshakes in progress")
