package h1pool

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"muxlab/internal/rawconn"
	"muxlab/roundtrip"
)

// Limits of Options.Conns.
const (
	DefaultConns = 6
	MaxConns     = 1000
)

// ErrClosed is returned by a Pool used after Close.
var ErrClosed = roundtrip.NewKind("h1pool: pool is closed", roundtrip.ErrClosed)

// Options configures a Pool. Zero fields take the defaults in parentheses.
type Options struct {
	// Addr is the server's host:port. Every request is sent there, whatever
	// its URL's host, which still becomes the Host header. Required.
	Addr string
	// Conns is how many keep-alive connections the pool keeps at most (6).
	// Allowed 1 to 1000.
	Conns int
	// Dial opens a connection. Nil: a plain net.Dialer. It may return a TLS
	// connection; the pool speaks HTTP/1.1 on whatever it gets.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// DialTimeout bounds one dial (roundtrip.DefaultDialTimeout, 5s).
	DialTimeout time.Duration
	// ReadBufferSize and WriteBufferSize size each connection's buffers, in
	// bytes (4 KiB each).
	ReadBufferSize, WriteBufferSize int
	// MaxResponseHeaderBytes bounds each response head, status line and
	// fields, in bytes (roundtrip.DefaultMaxResponseHeaderBytes, 1 MiB). A
	// head beyond it fails its request with roundtrip.ErrResponseTooLarge
	// and closes its connection. Each informational (1xx) head has the
	// bound of its own, and at most Max1xxResponses of them precede an
	// answer.
	MaxResponseHeaderBytes int64
}

// Max1xxResponses is how many informational answers (100 Continue, 103
// Early Hints) may precede a final one, as in net/http; more fail the
// request.
const Max1xxResponses = 5

func (o *Options) normalize() error {
	if o.Addr == "" {
		return errors.New("h1pool: Options.Addr is empty")
	}
	if o.Conns == 0 {
		o.Conns = DefaultConns
	}
	if o.Conns < 1 || o.Conns > MaxConns {
		return fmt.Errorf("h1pool: Conns %d out of range 1 to %d", o.Conns, MaxConns)
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = roundtrip.DefaultDialTimeout
	}
	if o.DialTimeout < 0 {
		return fmt.Errorf("h1pool: negative DialTimeout %v", o.DialTimeout)
	}
	if o.Dial == nil {
		o.Dial = (&net.Dialer{}).DialContext
	}
	if o.MaxResponseHeaderBytes == 0 {
		o.MaxResponseHeaderBytes = roundtrip.DefaultMaxResponseHeaderBytes
	}
	if o.MaxResponseHeaderBytes < 0 {
		return fmt.Errorf("h1pool: negative MaxResponseHeaderBytes %d", o.MaxResponseHeaderBytes)
	}
	o.ReadBufferSize = max(o.ReadBufferSize, 4096)
	o.WriteBufferSize = max(o.WriteBufferSize, 4096)
	return nil
}

// Pool is an HTTP/1.1 client with exactly Conns keep-alive connections to one
// server. Requests beyond them wait, first come first served, for a
// connection to come free. It is safe for concurrent use.
type Pool struct {
	opts Options

	// The pool has Conns slots, each the place of one connection. A free
	// slot is in idle if it holds a connection and in empty if it does not;
	// a request takes an idle slot if there is one (keep-alive reuse), an
	// empty one otherwise (and dials), and puts it back when the response
	// body is done. Requests that find neither wait on both channels, which
	// serve waiters in arrival order.
	idle, empty chan *slot
	done        chan struct{} // closed by Close
	shut        atomic.Bool

	nextID     atomic.Uint64
	dials      atomic.Int64
	reconnects atomic.Int64
	requests   atomic.Int64
	failed     atomic.Int64
	retries    atomic.Int64
	open       roundtrip.Gauge
	inFlight   roundtrip.Gauge
	waiting    roundtrip.Gauge
	log        roundtrip.ConnLog
}

// slot is one of the pool's Conns places for a connection.
type slot struct {
	c      *conn // nil until dialed, and after the connection broke
	dialed bool  // a connection was dialed here before
}

// conn is one HTTP/1.1 connection.
type conn struct {
	nc  net.Conn
	br  *bufio.Reader
	bw  *bufio.Writer
	rec *roundtrip.ConnRecord
	// local is the connection's own end, for Info.Local.
	local netip.AddrPort
	// limit is what br reads from: the connection, with a budget while a
	// head is read; maxHead is Options.MaxResponseHeaderBytes.
	limit   limitReader
	maxHead int64
	// deadline is the one last set on nc; watched is the context the watch
	// is on, and stop ends that watch (nil: none). Only the request that
	// holds the connection touches them.
	deadline time.Time
	watched  context.Context
	stop     func() bool

	mu sync.Mutex // mu guards the following, shared with the watch
	// busy is the context of the request on the connection; nil between
	// requests.
	busy context.Context
	// broken says the watch cut the connection's I/O short: the
	// connection cannot carry another request.
	broken bool
}

// New validates opts and returns a pool. It dials nothing until the first
// requests need connections.
func New(opts Options) (*Pool, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	p := &Pool{
		opts:  opts,
		idle:  make(chan *slot, opts.Conns),
		empty: make(chan *slot, opts.Conns),
		done:  make(chan struct{}),
	}
	for range opts.Conns {
		p.empty <- &slot{}
	}
	return p, nil
}

// RoundTrip implements http.RoundTripper, so that a Pool can be the Transport
// of an http.Client.
func (p *Pool) RoundTrip(req *http.Request) (*http.Response, error) {
	return p.Do(req, nil)
}

// Do sends req on one of the pool's connections, waiting for one to be free,
// and fills info (if not nil) as it goes. The connection returns to the pool
// when the response body has been read to EOF or closed; the caller must
// close it.
func (p *Pool) Do(req *http.Request, info *roundtrip.Info) (*http.Response, error) {
	// One allocation per request: the body wrapper, which also holds the
	// Info when the caller passes none.
	b := &body{p: p, info: info}
	if info == nil {
		info = &b.own
		b.info = info
	}
	info.Start = time.Now()
	ctx := req.Context()
	s, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	p.inFlight.Inc()
	for attempt := 0; ; attempt++ {
		c, err := p.connect(ctx, s)
		if err != nil {
			if attempt > 0 {
				p.failed.Add(1)
				info.End = time.Now()
			}
			p.inFlight.Dec()
			p.release(s)
			return nil, err
		}
		if attempt == 0 {
			p.requests.Add(1)
			info.Acquired = time.Now()
		}
		info.Conn, info.Local = c.rec.ID, c.local
		info.Reused = c.rec.Request()
		resp, err := c.roundTrip(req, &b.fixed)
		if err == nil {
			b.rc, b.resp, b.s = resp.Body, resp, s
			resp.Body = b
			return resp, nil
		}
		c.endWatch()
		p.closeConn(s)
		if attempt == 0 && info.Reused && canResend(req, err) {
			// The server closed this kept-alive connection before it could
			// answer (an idle timeout, a restart): the request was not
			// processed, so it goes once more on a fresh connection, as
			// browsers do. Counted in Stats.Retries.
			p.retries.Add(1)
			continue
		}
		p.failed.Add(1)
		info.End = time.Now()
		p.finish(s, false)
		return nil, fmt.Errorf("h1pool: %s %s on connection %d: %w", req.Method, req.URL, c.rec.ID, err)
	}
}

// canResend reports whether req may be sent again after err: it is
// idempotent, has no body to replay, and failed because the connection was
// found closed rather than because its context ended.
func canResend(req *http.Request, err error) bool {
	if req.Context().Err() != nil || (req.Body != nil && req.Body != http.NoBody) {
		return false
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// acquire waits for a slot, first come first served.
func (p *Pool) acquire(ctx context.Context) (*slot, error) {
	if p.shut.Load() {
		return nil, ErrClosed
	}
	select {
	case s := <-p.idle:
		return p.checkOpen(s)
	default:
	}
	select {
	case s := <-p.empty:
		return p.checkOpen(s)
	default:
	}
	p.waiting.Inc()
	defer p.waiting.Dec()
	select {
	case s := <-p.idle:
		return p.checkOpen(s)
	case s := <-p.empty:
		return p.checkOpen(s)
	case <-ctx.Done():
		return nil, fmt.Errorf("h1pool: waiting for a connection: %w", context.Cause(ctx))
	case <-p.done:
		return nil, ErrClosed
	}
}

func (p *Pool) checkOpen(s *slot) (*slot, error) {
	if p.shut.Load() {
		p.release(s)
		return nil, ErrClosed
	}
	return s, nil
}

// connect returns the slot's connection, dialing one if it has none.
func (p *Pool) connect(ctx context.Context, s *slot) (*conn, error) {
	if s.c != nil {
		return s.c, nil
	}
	dctx, cancel := context.WithTimeout(ctx, p.opts.DialTimeout)
	defer cancel()
	nc, err := p.opts.Dial(dctx, "tcp", p.opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("h1pool: dial %s: %w", p.opts.Addr, roundtrip.CauseOf(ctx, err))
	}
	p.dials.Add(1)
	if s.dialed {
		p.reconnects.Add(1)
	}
	s.dialed = true
	p.open.Inc()
	local := roundtrip.AddrPortOf(nc.LocalAddr())
	nc = rawconn.Wrap(nc) // see package rawconn: a fifth of the CPU per request
	c := &conn{
		nc:      nc,
		local:   local,
		bw:      bufio.NewWriterSize(nc, p.opts.WriteBufferSize),
		rec:     p.log.Add(p.nextID.Add(1)),
		maxHead: p.opts.MaxResponseHeaderBytes,
		limit:   limitReader{r: nc, left: noLimit},
	}
	c.br = bufio.NewReaderSize(&c.limit, p.opts.ReadBufferSize)
	s.c = c
	return c, nil
}

// finish ends a request that held slot s: the connection stays in the slot
// if it can carry another request, and is closed otherwise.
func (p *Pool) finish(s *slot, reusable bool) {
	p.inFlight.Dec()
	if !reusable || p.shut.Load() {
		p.closeConn(s)
	}
	p.release(s)
}

func (p *Pool) closeConn(s *slot) {
	if s.c == nil {
		return
	}
	s.c.unwatch()
	s.c.nc.Close()
	s.c.rec.Close()
	s.c = nil
	p.open.Dec()
}

// release puts s back for the next request.
func (p *Pool) release(s *slot) {
	// Never blocks: each channel has room for every slot.
	if s.c != nil {
		p.idle <- s
	} else {
		p.empty <- s
	}
}

// Close closes idle connections at once and busy ones as their requests
// finish. Requests waiting for a connection, and later ones, get ErrClosed.
func (p *Pool) Close() error {
	if p.shut.Swap(true) {
		return nil
	}
	close(p.done)
	for range len(p.idle) {
		select {
		case s := <-p.idle:
			p.closeConn(s)
			p.release(s)
		default:
		}
	}
	return nil
}

// Stats reports the pool's connections and requests.
func (p *Pool) Stats() roundtrip.Stats {
	st := roundtrip.Stats{
		Dials:      p.dials.Load(),
		Reconnects: p.reconnects.Load(),
		Requests:   p.requests.Load(),
		Failed:     p.failed.Load(),
		Retries:    p.retries.Load(),
		PerConn:    p.log.Snapshot(),
	}
	st.ConnsOpen, st.ConnsPeak = p.open.Load()
	st.InFlight, st.InFlightPeak = p.inFlight.Load()
	st.Waiting, st.WaitingPeak = p.waiting.Load()
	return st
}
