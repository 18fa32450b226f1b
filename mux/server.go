package mux

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"
)

// DefaultMaxConcurrentStreams is the HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS
// the server advertises unless told otherwise.
const DefaultMaxConcurrentStreams = 250

// Default addresses of the listeners. The server binds loopback unless told
// otherwise.
const (
	DefaultH1Addr  = "127.0.0.1:8080"
	DefaultH2CAddr = "127.0.0.1:8081"
)

// Listener names, as they appear in Stats.
const (
	ListenerH1   = "h1"
	ListenerH2C  = "h2c"
	ListenerBoth = "both"
	// The demo's TLS listeners: HTTP/1.1 only, and h2 with http/1.1 as
	// fallback, both chosen through ALPN.
	ListenerH1TLS = "h1_tls"
	ListenerH2TLS = "h2_tls"
	// ListenerH3 is HTTP/3 over QUIC, served by the mux/h3 package.
	ListenerH3 = "h3"
)

// Default addresses of the demo's TLS listeners.
const (
	DefaultH1TLSAddr = "127.0.0.1:8443"
	DefaultH2TLSAddr = "127.0.0.1:8444"
)

// Options configures a Server. Zero fields take the defaults in parentheses.
type Options struct {
	// H1Addr is where HTTP/1.1 is served, and only HTTP/1.1. Empty: not served.
	H1Addr string
	// H2CAddr is where HTTP/2 over cleartext TCP with prior knowledge (h2c) is
	// served, and only that. Empty: not served.
	H2CAddr string
	// BothAddr is one listener that accepts HTTP/1.1 and h2c prior knowledge on
	// the same port. Empty: not served.
	BothAddr string
	// H1TLSAddr serves HTTP/1.1 over TLS, offering only "http/1.1" through
	// ALPN; H2TLSAddr serves HTTP/2 over TLS, offering "h2" and "http/1.1".
	// They are what a browser needs for the demo. Empty: not served.
	H1TLSAddr, H2TLSAddr string
	// Listeners are listeners made by the caller, by listener name ("h1",
	// "h2c", "both", "h1_tls", "h2_tls"), served instead of binding that
	// listener's address: an in-process network, or sockets made
	// elsewhere. The server closes them. Nil: every listener binds its
	// address.
	Listeners map[string]net.Listener
	// Network says, for the demo page, what network stands between the
	// listeners and their clients ("4g, emulated: 170 ms, 9 Mbit/s ..."):
	// the server does not know, its caller does. Empty: the machine's own.
	Network string
	// Certificate is the TLS listeners' certificate. Nil: a self-signed one
	// for localhost and 127.0.0.1, made at start and kept in memory.
	Certificate *tls.Certificate

	// Replay, if not nil, answers the requests it has (a recorded page,
	// pageset.Replayer) before the server's own endpoints; they are counted
	// like any other.
	Replay Replayer
	// MaxConcurrentStreams is the HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS the
	// server advertises (DefaultMaxConcurrentStreams, 250).
	MaxConcurrentStreams int
	// ConnWindow is the HTTP/2 receive window of a connection, in bytes
	// (net/http's default, 1 MiB). Allowed 64 KiB to 4 MiB.
	ConnWindow int
	// StreamWindow is the HTTP/2 receive window of a stream, in bytes
	// (net/http's default, 1 MiB). Allowed 1 byte to 4 MiB.
	StreamWindow int

	// ReadHeaderTimeout bounds reading a request's headers: slow clients are
	// cut off after it (10s).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included (2m).
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response; it is longer than the longest
	// response the bounded parameters allow (6m).
	WriteTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle this long (2m).
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the size of a request's headers, in bytes (64 KiB).
	MaxHeaderBytes int

	// ErrorLog receives the errors of accepting connections and reading
	// requests. Nil: they are discarded.
	ErrorLog *log.Logger

	// Name names the server in every response (HeaderBackend) and in its
	// stats: which backend answered, behind a balancer. Empty: not named.
	Name string
	// WorkSlots is how many /work requests run at once, the server's
	// emulated cores; the others wait for a slot (GOMAXPROCS). Allowed 1
	// to 1024.
	WorkSlots int
	// CartKey signs the token carts (/tcart): servers that share it read
	// each other's tokens. Nil: a random key of the server's own.
	CartKey []byte
}

func (o *Options) normalize() error {
	if o.H1Addr == "" && o.H2CAddr == "" && o.BothAddr == "" && o.H1TLSAddr == "" && o.H2TLSAddr == "" && len(o.Listeners) == 0 {
		return errors.New("mux: no listener address given")
	}
	o.MaxConcurrentStreams = orDefault(o.MaxConcurrentStreams, DefaultMaxConcurrentStreams)
	o.ReadHeaderTimeout = orDefault(o.ReadHeaderTimeout, 10*time.Second)
	o.ReadTimeout = orDefault(o.ReadTimeout, 2*time.Minute)
	o.WriteTimeout = orDefault(o.WriteTimeout, MaxStreamDuration+time.Minute)
	o.IdleTimeout = orDefault(o.IdleTimeout, 2*time.Minute)
	o.MaxHeaderBytes = orDefault(o.MaxHeaderBytes, 64<<10)
	o.WorkSlots = orDefault(o.WorkSlots, runtime.GOMAXPROCS(0))
	if o.WorkSlots < 1 || o.WorkSlots > 1024 {
		return fmt.Errorf("mux: WorkSlots %d out of range 1 to 1024", o.WorkSlots)
	}
	if o.ErrorLog == nil {
		o.ErrorLog = log.New(io.Discard, "", 0)
	}
	switch {
	case o.MaxConcurrentStreams < 1 || o.MaxConcurrentStreams > 1<<20:
		return fmt.Errorf("mux: MaxConcurrentStreams %d out of range 1 to %d", o.MaxConcurrentStreams, 1<<20)
	case o.ConnWindow != 0 && (o.ConnWindow < 64<<10 || o.ConnWindow >= 4<<20):
		return fmt.Errorf("mux: ConnWindow %d out of range 64KiB to 4MiB", o.ConnWindow)
	case o.StreamWindow < 0 || o.StreamWindow >= 4<<20:
		return fmt.Errorf("mux: StreamWindow %d out of range 1 to 4MiB", o.StreamWindow)
	case o.ReadHeaderTimeout < 0 || o.ReadTimeout < 0 || o.WriteTimeout < 0 || o.IdleTimeout < 0:
		return errors.New("mux: negative timeout")
	case o.MaxHeaderBytes < 0:
		return errors.New("mux: negative MaxHeaderBytes")
	}
	return nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// ListenError says that a listener could not be bound, typically because the
// port is in use.
type ListenError struct {
	Listener string // "h1", "h2c" or "both"
	Addr     string // as given
	Err      error
}

func (e *ListenError) Error() string {
	return fmt.Sprintf("mux: cannot listen for %s on %s: %v", e.Listener, e.Addr, e.Err)
}

func (e *ListenError) Unwrap() error { return e.Err }

// Server is the demo server: one handler served on several listeners, each
// speaking its own protocols, with the ground truth of what arrived.
type Server struct {
	opts      Options
	handler   http.Handler
	tr        *tracker
	demo      *demoLoads
	listeners []*listener
	cert      *tls.Certificate // the TLS listeners'; nil when there are none
	work      chan struct{}    // a token per /work running: Options.WorkSlots
	carts     carts
	cartKey   []byte
	busy      busyClock

	mu        sync.Mutex // mu guards the following
	externals []*External
	errs      []error // from Serve, other than ErrServerClosed
	started   bool
}

type listener struct {
	stats *listenerStats
	ln    net.Listener
	srv   *http.Server
	done  chan struct{} // closed when Serve returns
}

// New validates opts and binds every listener, so that a port in use is an
// error here, naming the address. Serving starts with Start.
func New(opts Options) (*Server, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	s := &Server{opts: opts, tr: newTracker(), demo: newDemoLoads(), work: make(chan struct{}, opts.WorkSlots),
		carts: carts{m: make(map[string][]string)}, cartKey: opts.CartKey}
	if len(s.cartKey) == 0 {
		s.cartKey = newCartKey()
	}
	s.handler = s.routes()
	var cert *tls.Certificate
	if opts.H1TLSAddr != "" || opts.H2TLSAddr != "" || opts.Listeners[ListenerH1TLS] != nil || opts.Listeners[ListenerH2TLS] != nil {
		cert = opts.Certificate
		if cert == nil {
			var err error
			if cert, err = SelfSignedCertificate(); err != nil {
				return nil, err
			}
		}
		s.cert = cert
	}
	for _, l := range []listenerSpec{
		{name: ListenerH1, addr: opts.H1Addr, h1: true},
		{name: ListenerH2C, addr: opts.H2CAddr, h2c: true},
		{name: ListenerBoth, addr: opts.BothAddr, h1: true, h2c: true},
		{name: ListenerH1TLS, addr: opts.H1TLSAddr, h1: true, cert: cert},
		{name: ListenerH2TLS, addr: opts.H2TLSAddr, h1: true, h2: true, cert: cert},
	} {
		l.ln = opts.Listeners[l.name]
		if l.addr == "" && l.ln == nil {
			continue
		}
		if err := s.listen(l); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// listenerSpec says what one listener speaks.
type listenerSpec struct {
	name, addr  string
	h1, h2c, h2 bool             // HTTP/1.1; HTTP/2 over cleartext; HTTP/2 over TLS
	cert        *tls.Certificate // non-nil: TLS, with ALPN offering what h1 and h2 say
	ln          net.Listener     // non-nil: the caller's listener, served instead of binding addr
}

func (s *Server) listen(l listenerSpec) error {
	ln := l.ln
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", l.addr); err != nil {
			return &ListenError{Listener: l.name, Addr: l.addr, Err: err}
		}
	}
	ls := &listenerStats{name: l.name, addr: ln.Addr().String(), tls: l.cert != nil}
	var protos http.Protocols
	protos.SetHTTP1(l.h1)
	protos.SetUnencryptedHTTP2(l.h2c)
	protos.SetHTTP2(l.h2)
	srv := &http.Server{
		Handler:           s.handler,
		Protocols:         &protos,
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		ReadTimeout:       s.opts.ReadTimeout,
		WriteTimeout:      s.opts.WriteTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    s.opts.MaxHeaderBytes,
		ConnContext:       s.tr.connContext(ls),
		ConnState:         s.tr.connState,
		HTTP2: &http.HTTP2Config{
			MaxConcurrentStreams:          s.opts.MaxConcurrentStreams,
			MaxReceiveBufferPerConnection: s.opts.ConnWindow,
			MaxReceiveBufferPerStream:     s.opts.StreamWindow,
			// A peer that stops reading must not hold a connection forever.
			WriteByteTimeout: 30 * time.Second,
		},
		ErrorLog: s.opts.ErrorLog,
	}
	if l.cert != nil {
		next := []string{"http/1.1"}
		if l.h2 {
			next = []string{"h2", "http/1.1"}
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*l.cert}, NextProtos: next, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	s.listeners = append(s.listeners, &listener{stats: ls, ln: ln, srv: srv, done: make(chan struct{})})
	return nil
}

// Start serves every listener in the background. Stop with Shutdown or Close.
func (s *Server) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return
	}
	s.started = true
	for _, l := range s.listeners {
		go func() {
			defer close(l.done)
			if err := l.srv.Serve(l.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.mu.Lock()
				s.errs = append(s.errs, fmt.Errorf("mux: serve %s: %w", l.stats.name, err))
				s.mu.Unlock()
			}
		}()
	}
}

// Replayer answers a recorded page's requests (pageset.Replayer).
type Replayer interface {
	http.Handler
	// Has reports whether the recording answers r.
	Has(r *http.Request) bool
}

// Options returns the server's options, defaults filled in.
func (s *Server) Options() Options { return s.opts }

// Certificate returns the TLS listeners' certificate, nil when the server
// has no TLS listener: an HTTP/3 listener shares it, so that a client that
// trusts one trusts all.
func (s *Server) Certificate() *tls.Certificate { return s.cert }

// Handler returns the server's handler, with the counting included, for
// callers that serve it themselves.
func (s *Server) Handler() http.Handler { return s.handler }

// Addr returns the bound address of the named listener ("h1", "h2c", "both"),
// or "" if it is not served.
func (s *Server) Addr(name string) string {
	for _, ls := range s.allStats() {
		if ls.name == name {
			return ls.addr
		}
	}
	return ""
}

// URL returns "http://ADDR" ("https://ADDR" for a TLS listener) for the
// named listener, or "" if it is not served.
func (s *Server) URL(name string) string {
	for _, ls := range s.allStats() {
		if ls.name == name {
			if ls.tls {
				return "https://" + ls.addr
			}
			return "http://" + ls.addr
		}
	}
	return ""
}

// Stats returns the counters of every listener, without the connection list.
func (s *Server) Stats() Stats {
	busy, inFlight := s.busy.read()
	st := Stats{Listeners: make(map[string]ListenerStats, len(s.listeners)), Name: s.opts.Name,
		BusyMS: float64(busy) / float64(time.Millisecond), InFlight: inFlight}
	for _, ls := range s.allStats() {
		st.Listeners[ls.name] = ls.snapshot()
	}
	return st
}

// allStats lists the counters of every listener, external ones included.
func (s *Server) allStats() []*listenerStats {
	out := make([]*listenerStats, 0, len(s.listeners))
	for _, l := range s.listeners {
		out = append(out, l.stats)
	}
	s.mu.Lock()
	for _, e := range s.externals {
		out = append(out, e.ls)
	}
	s.mu.Unlock()
	return out
}

// ConnStats returns the open connections and the most recent closed ones.
func (s *Server) ConnStats() []ConnStats { return s.tr.conns() }

// ResetStats zeroes every counter; open connections stay counted as open.
func (s *Server) ResetStats() {
	s.tr.reset(s.allStats())
	s.busy.reset()
}

// Shutdown stops accepting, tells HTTP/2 clients with GOAWAY, and waits for
// in-flight requests to finish or for ctx to be done, whichever is first; then
// it closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(s.listeners))
	for i, l := range s.listeners {
		wg.Go(func() {
			errs[i] = l.srv.Shutdown(ctx)
			if errs[i] != nil {
				l.srv.Close()
			}
		})
	}
	wg.Wait()
	for _, e := range s.takeExternals() {
		errs = append(errs, e.stop(ctx))
	}
	return errors.Join(append(errs, s.wait()...)...)
}

// Close closes every listener and connection at once.
func (s *Server) Close() error {
	var errs []error
	for _, l := range s.listeners {
		errs = append(errs, l.srv.Close())
		l.ln.Close() // in case Start was never called
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // at once
	for _, e := range s.takeExternals() {
		errs = append(errs, e.stop(ctx))
	}
	return errors.Join(append(errs, s.wait()...)...)
}

// wait returns the Serve errors once every started listener has stopped.
func (s *Server) wait() []error {
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if started {
		for _, l := range s.listeners {
			<-l.done
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.errs
}
