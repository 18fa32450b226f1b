// Package h1pipe is an HTTP/1.1 client that pipelines: on exactly Conns
// keep-alive connections it writes each request without waiting for the
// answers to the ones before it (up to Depth per connection), and reads the
// answers in the order it wrote the requests, as HTTP/1.1 requires. One slow
// answer therefore holds back every answer behind it on its connection: the
// head-of-line blocking that HTTP/2's streams remove. Info.HeldBack says, per
// request, how long its answer waited behind the ones before it.
//
// A request the server did not answer because the connection closed (a
// "Connection: close" mid-pipeline, a broken connection) is sent again on a
// new connection if it is idempotent and has no body, as browsers did when
// they pipelined, and counted in Stats.Retries, at most MaxAttempts sends in
// all; otherwise it fails as a roundtrip.ErrConnLost.
package h1pipe

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"muxlab/roundtrip"
)

// Defaults of Options.
const (
	DefaultConns = 1
	// DefaultDepth is how many requests a connection carries unanswered:
	// enough for a page's objects to go out at once on one connection.
	DefaultDepth = 100
	// DefaultMaxBodyBytes bounds one response body: answers come in
	// order, so each is read whole before the next.
	DefaultMaxBodyBytes int64 = 64 << 20
	// MaxDepth bounds Depth.
	MaxDepth = 10000
)

// Errors of the client; each is one of roundtrip's shared kinds.
var (
	ErrClosed   = roundtrip.NewKind("h1pipe: client is closed", roundtrip.ErrClosed)
	ErrConnLost = roundtrip.NewKind("h1pipe: the connection closed before the server answered", roundtrip.ErrConnLost)
)

// Options configures a Client. Zero fields take the defaults.
type Options struct {
	// Addr is the server's host:port.
	Addr string
	// Conns is how many connections carry the requests (DefaultConns).
	Conns int
	// Depth is how many requests one connection carries at most before
	// their answers have come (DefaultDepth); the next waits for a free
	// place.
	Depth int
	// Dial opens a connection (a TLS one offering http/1.1, for HTTPS);
	// nil: a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// DialTimeout bounds a dial (roundtrip.DefaultDialTimeout).
	DialTimeout time.Duration
	// MaxResponseHeaderBytes bounds a response head
	// (roundtrip.DefaultMaxResponseHeaderBytes); MaxBodyBytes a body
	// (DefaultMaxBodyBytes). A response beyond either fails, and its
	// connection is closed.
	MaxResponseHeaderBytes int64
	MaxBodyBytes           int64
}

// Client pipelines requests on its connections.
type Client struct {
	o     Options
	slots chan struct{} // Conns*Depth places; a request holds one from its write to its answer
	done  chan struct{}

	dialMu sync.Mutex // one dial at a time
	mu     sync.Mutex // mu guards conns and shut
	conns  []*conn    // Conns places, nil until dialed, replaced when closed
	shut   bool
	nextID atomic.Uint64

	dials, reconnects, requests, failed, retries atomic.Int64
	open, inFlight, waiting                      roundtrip.Gauge
	log                                          roundtrip.ConnLog
}

// New makes a client that has dialed nothing yet.
func New(o Options) (*Client, error) {
	if o.Addr == "" {
		return nil, errors.New("h1pipe: Addr is empty")
	}
	if o.Conns == 0 {
		o.Conns = DefaultConns
	}
	if o.Depth == 0 {
		o.Depth = DefaultDepth
	}
	if o.Conns < 1 || o.Conns > 10000 {
		return nil, fmt.Errorf("h1pipe: Conns %d is out of range; allowed 1 to 10000", o.Conns)
	}
	if o.Depth < 1 || o.Depth > MaxDepth {
		return nil, fmt.Errorf("h1pipe: Depth %d is out of range; allowed 1 to %d", o.Depth, MaxDepth)
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = roundtrip.DefaultDialTimeout
	}
	if o.MaxResponseHeaderBytes == 0 {
		o.MaxResponseHeaderBytes = roundtrip.DefaultMaxResponseHeaderBytes
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Dial == nil {
		o.Dial = (&net.Dialer{}).DialContext
	}
	c := &Client{o: o, slots: make(chan struct{}, o.Conns*o.Depth), done: make(chan struct{}), conns: make([]*conn, o.Conns)}
	return c, nil
}

// call is one request written on a connection, waiting for its answer.
type call struct {
	req  *http.Request
	sent time.Time
	done chan answer // buffered: the reader never waits for the caller
}

// answer is what the reader gives a call.
type answer struct {
	resp     *http.Response
	body     []byte
	end      time.Time     // the last byte's arrival
	heldBack time.Duration // behind the answers before it
	err      error
	unsent   bool // the server did not answer: the connection closed first
}

// MaxAttempts bounds how often one request is sent: a server that closes
// its connections after a few answers (its close may also reset answers it
// sent, which the client then never reads) gets the rest again, up to this.
const MaxAttempts = 10

// Do sends req on one of the connections, pipelined behind the requests
// already on it, and returns its answer, whose body is already read.
func (c *Client) Do(req *http.Request, info *roundtrip.Info) (*http.Response, error) {
	if info == nil {
		info = new(roundtrip.Info)
	}
	if info.Start.IsZero() {
		info.Start = time.Now()
	}
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		a, cn, err := c.send(ctx, req, info)
		if err == nil && a.err == nil {
			c.requests.Add(1)
			info.Conn, info.Reused, info.Local = cn.id, cn.rec.Request(), cn.local
			info.HeldBack = a.heldBack
			a.resp.Body = &body{r: bytes.NewReader(a.body), info: info, end: a.end}
			return a.resp, nil
		}
		if err == nil {
			err = a.err
		}
		if ctx.Err() != nil || !a.unsent || !resendable(req) || attempt+1 >= MaxAttempts {
			c.failed.Add(1)
			if ctx.Err() != nil {
				return nil, roundtrip.CauseOf(ctx, err)
			}
			return nil, err
		}
		c.retries.Add(1) // not answered: sent again, on a new connection
	}
}

// resendable: a request the server may not have processed can be sent
// again when it is idempotent and has no body.
func resendable(req *http.Request) bool {
	return (req.Method == "" || req.Method == http.MethodGet || req.Method == http.MethodHead) && (req.Body == nil || req.Body == http.NoBody)
}

// send takes a place in slots, writes req on the connection with the
// fewest requests on it and waits for its answer. The place is given back
// by the reader, when the answer has come or the connection has closed
// (so a request given up by its caller holds it until then), or here if
// nothing was written.
func (c *Client) send(ctx context.Context, req *http.Request, info *roundtrip.Info) (answer, *conn, error) {
	c.waiting.Inc()
	select {
	case c.slots <- struct{}{}:
		c.waiting.Dec()
	case <-ctx.Done():
		c.waiting.Dec()
		return answer{}, nil, roundtrip.CauseOf(ctx, ctx.Err())
	case <-c.done:
		c.waiting.Dec()
		return answer{}, nil, ErrClosed
	}
	c.inFlight.Inc()
	defer c.inFlight.Dec()
	cn, err := c.pick(ctx)
	if err != nil {
		<-c.slots
		return answer{}, nil, err
	}
	cl := &call{req: req, done: make(chan answer, 1)}
	if err := cn.write(cl); err != nil {
		<-c.slots
		return answer{err: err, unsent: true}, cn, nil
	}
	info.Acquired = cl.sent
	select {
	case a := <-cl.done:
		return a, cn, nil
	case <-ctx.Done():
		// Its answer still comes in order and is read and dropped; the
		// place is given back then.
		return answer{}, cn, roundtrip.CauseOf(ctx, ctx.Err())
	}
}

// pick returns the connection with the fewest requests on it, dialing the
// places not yet dialed or whose connection closed, one dial at a time, so
// that no connection is dialed that the client does not keep.
func (c *Client) pick(ctx context.Context) (*conn, error) {
	if cn, _, err := c.choose(); err != nil || cn != nil {
		return cn, err
	}
	c.dialMu.Lock()
	defer c.dialMu.Unlock()
	cn, i, err := c.choose() // again: another request may have dialed meanwhile
	if err != nil || cn != nil {
		return cn, err
	}
	c.mu.Lock()
	replacing := c.conns[i] != nil
	c.mu.Unlock()
	if cn, err = c.dial(ctx); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shut {
		cn.close(ErrClosed)
		return nil, ErrClosed
	}
	if replacing {
		c.reconnects.Add(1)
	}
	c.conns[i] = cn
	return cn, nil
}

// choose returns the usable connection with the fewest requests on it, or,
// if a place has none (not yet dialed, or closed), nil and that place.
func (c *Client) choose() (*conn, int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shut {
		return nil, 0, ErrClosed
	}
	best := -1
	for i, cn := range c.conns {
		if cn == nil || cn.isBroken() {
			return nil, i, nil
		}
		if best < 0 || cn.load() < c.conns[best].load() {
			best = i
		}
	}
	return c.conns[best], best, nil
}

func (c *Client) dial(ctx context.Context) (*conn, error) {
	dctx, cancel := context.WithTimeout(ctx, c.o.DialTimeout)
	defer cancel()
	nc, err := c.o.Dial(dctx, "tcp", c.o.Addr)
	if err != nil {
		return nil, fmt.Errorf("h1pipe: dialing %s: %w: %w", c.o.Addr, roundtrip.ErrHandshake, roundtrip.CauseOf(dctx, err))
	}
	c.dials.Add(1)
	c.open.Inc()
	id := c.nextID.Add(1)
	cn := &conn{c: c, nc: nc, id: id, rec: c.log.Add(id), bw: bufio.NewWriter(nc), local: roundtrip.AddrPortOf(nc.LocalAddr())}
	cn.lr = &headLimit{r: nc}
	cn.br = bufio.NewReader(cn.lr)
	cn.more = sync.NewCond(&cn.mu)
	go cn.read()
	return cn, nil
}

// Close closes every connection; requests on them fail.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.shut {
		c.mu.Unlock()
		return nil
	}
	c.shut = true
	close(c.done)
	conns := c.conns
	c.mu.Unlock()
	for _, cn := range conns {
		if cn != nil {
			cn.close(ErrClosed)
		}
	}
	return nil
}

// Stats reports the client's connections and requests.
func (c *Client) Stats() roundtrip.Stats {
	open, peak := c.open.Load()
	inFlight, inPeak := c.inFlight.Load()
	waiting, waitPeak := c.waiting.Load()
	return roundtrip.Stats{Dials: c.dials.Load(), Reconnects: c.reconnects.Load(), ConnsOpen: open, ConnsPeak: peak,
		InFlight: inFlight, InFlightPeak: inPeak, Waiting: waiting, WaitingPeak: waitPeak,
		Requests: c.requests.Load(), Failed: c.failed.Load(), Retries: c.retries.Load(), PerConn: c.log.Snapshot()}
}

// conn is one pipelined connection: requests are written in order, and
// its reader answers them in that order.
type conn struct {
	c   *Client
	nc  net.Conn
	id  uint64
	rec *roundtrip.ConnRecord
	// local is the connection's own end, for Info.Local.
	local netip.AddrPort
	lr    *headLimit
	br    *bufio.Reader

	wmu sync.Mutex // wmu serializes writes, and so the order of pending
	bw  *bufio.Writer

	mu      sync.Mutex // mu guards pending and broken
	more    *sync.Cond // a request is pending, or the connection broke
	pending []*call
	broken  error
}

func (cn *conn) load() int {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return len(cn.pending)
}

func (cn *conn) isBroken() bool {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return cn.broken != nil
}

// write queues cl and writes its request.
func (cn *conn) write(cl *call) error {
	cn.wmu.Lock()
	defer cn.wmu.Unlock()
	cn.mu.Lock()
	if cn.broken != nil {
		cn.mu.Unlock()
		return ErrConnLost
	}
	cn.pending = append(cn.pending, cl)
	cn.more.Signal()
	cn.mu.Unlock()
	cl.sent = time.Now()
	if err := cl.req.Write(cn.bw); err != nil {
		cn.close(fmt.Errorf("h1pipe: writing a request: %w: %w", roundtrip.ErrConnLost, err))
		return nil // the reader answers it as not answered
	}
	if err := cn.bw.Flush(); err != nil {
		cn.close(fmt.Errorf("h1pipe: writing a request: %w: %w", roundtrip.ErrConnLost, err))
	}
	return nil
}

// close breaks the connection with err (nil: no request's fault) and closes
// it; the reader then answers every pending request as not answered.
func (cn *conn) close(err error) {
	cn.mu.Lock()
	if cn.broken == nil {
		if err == nil {
			err = ErrConnLost
		}
		cn.broken = err
		cn.more.Broadcast()
		cn.rec.Close()
		cn.c.open.Dec()
	}
	cn.mu.Unlock()
	cn.nc.Close()
}

// read answers the pending requests in order until the connection closes.
func (cn *conn) read() {
	var lastEnd time.Time
	for {
		cn.mu.Lock()
		for len(cn.pending) == 0 && cn.broken == nil {
			cn.more.Wait()
		}
		if len(cn.pending) == 0 {
			cn.mu.Unlock()
			return
		}
		cl := cn.pending[0]
		cn.mu.Unlock()

		cn.lr.limit(cn.c.o.MaxResponseHeaderBytes)
		resp, err := http.ReadResponse(cn.br, cl.req)
		cn.lr.limit(-1)
		var data []byte
		if err == nil {
			data, err = io.ReadAll(io.LimitReader(resp.Body, cn.c.o.MaxBodyBytes+1))
			if err == nil && int64(len(data)) > cn.c.o.MaxBodyBytes {
				err = fmt.Errorf("h1pipe: a response body beyond %d bytes: %w", cn.c.o.MaxBodyBytes, roundtrip.ErrResponseTooLarge)
			}
			resp.Body.Close()
		}
		if errors.Is(err, errHeadTooLarge) {
			err = fmt.Errorf("h1pipe: a response head beyond %d bytes: %w", cn.c.o.MaxResponseHeaderBytes, roundtrip.ErrResponseTooLarge)
		}
		if err != nil {
			cn.close(fmt.Errorf("h1pipe: reading an answer: %w: %w", roundtrip.ErrConnLost, err))
			if resp != nil || errors.Is(err, roundtrip.ErrResponseTooLarge) {
				// The server answered this one, badly: it fails as it is;
				// the ones behind it were not answered.
				cn.mu.Lock()
				cn.pending = cn.pending[1:]
				cn.mu.Unlock()
				cl.done <- answer{err: lostErr(err)}
				<-cn.c.slots
			}
			cn.failPending(err, true)
			return
		}
		end := time.Now()
		held := time.Duration(0)
		if lastEnd.After(cl.sent) {
			held = lastEnd.Sub(cl.sent) // its answer could not begin before the one ahead of it ended
		}
		lastEnd = end
		cn.mu.Lock()
		cn.pending = cn.pending[1:]
		cn.mu.Unlock()
		cl.done <- answer{resp: resp, body: data, end: end, heldBack: held}
		<-cn.c.slots
		if resp.Close { // the server closes after this answer: the rest go again
			cn.close(nil)
			cn.failPending(ErrConnLost, true)
			return
		}
	}
}

// failPending answers every request still pending, none of which the
// server answered.
func (cn *conn) failPending(err error, unsent bool) {
	cn.mu.Lock()
	pending := cn.pending
	cn.pending = nil
	cn.mu.Unlock()
	for _, cl := range pending {
		cl.done <- answer{err: lostErr(err), unsent: unsent}
		<-cn.c.slots
	}
}

// lostErr is the error of a request the server did not answer.
func lostErr(err error) error {
	if errors.Is(err, ErrConnLost) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrConnLost, err)
}

// errHeadTooLarge is headLimit's error.
var errHeadTooLarge = errors.New("response head too large")

// headLimit bounds the bytes read while a response head is being read.
type headLimit struct {
	r    io.Reader
	left int64 // -1: no bound
}

func (h *headLimit) limit(n int64) { h.left = n }

func (h *headLimit) Read(p []byte) (int, error) {
	if h.left == 0 {
		return 0, errHeadTooLarge
	}
	if h.left > 0 && int64(len(p)) > h.left {
		p = p[:h.left]
	}
	n, err := h.r.Read(p)
	if h.left > 0 {
		h.left -= int64(n)
	}
	return n, err
}

// body is an answer's body, already read; its EOF or Close ends the
// request at the last byte's arrival.
type body struct {
	r    *bytes.Reader
	info *roundtrip.Info
	end  time.Time
	once sync.Once
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		b.finish()
	}
	return n, err
}

func (b *body) Close() error {
	b.finish()
	return nil
}

func (b *body) finish() { b.once.Do(func() { b.info.End = b.end }) }
