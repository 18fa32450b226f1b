package h2client

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/http2"

	"muxlab/roundtrip"
)

// ErrClosed is returned by a Client used after Close, and wrapped by the
// error of a request in flight when it was closed.
var ErrClosed = roundtrip.NewKind("h2client: client is closed", roundtrip.ErrClosed)

// ErrConnLost is wrapped by the error of a request whose connection broke, or
// was closed or told to go away by the server, while the request was on it.
var ErrConnLost = roundtrip.NewKind("h2client: the connection ended under the request", roundtrip.ErrConnLost)

// ErrHandshake is wrapped by the error of a connection whose server did not
// complete the HTTP/2 handshake (no preface and SETTINGS, or no h2 through
// ALPN).
var ErrHandshake = roundtrip.NewKind("h2client: HTTP/2 handshake failed", roundtrip.ErrHandshake)

// GoAwayError is the error of a request whose stream the server's GOAWAY
// refused: the server never processed it, and the request may be sent
// again. It is a roundtrip.ErrGoAway.
type GoAwayError struct {
	// LastStreamID is the last stream the server processed or may still.
	LastStreamID uint32
	// ErrCode is why the server went away (NO_ERROR: a graceful shutdown).
	ErrCode http2.ErrCode
	// DebugData is what the server said beside it.
	DebugData string
}

func (e GoAwayError) Error() string {
	return fmt.Sprintf("h2client: the server went away (%v, last stream %d, %q) before processing the stream", e.ErrCode, e.LastStreamID, e.DebugData)
}

// Unwrap makes a GoAwayError a roundtrip.ErrGoAway.
func (e GoAwayError) Unwrap() error { return roundtrip.ErrGoAway }

// MaxStreamSlots caps the stream slots the client keeps for one connection,
// whatever MAX_CONCURRENT_STREAMS the server advertises (some advertise no
// limit at all).
const MaxStreamSlots = 1 << 16

// Options configures a Client. Zero fields take the defaults in parentheses.
type Options struct {
	// Addr is the server's host:port. Every request is sent there, whatever
	// its URL's host, which still becomes the :authority. Required.
	Addr string
	// Dial opens the connection. Nil: a plain net.Dialer, for h2c with prior
	// knowledge. It may return a *tls.Conn, which must negotiate "h2" through
	// ALPN (the client completes the handshake if Dial did not).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// DialTimeout bounds dialing and the HTTP/2 handshake: the server's
	// preface and SETTINGS must arrive within it (roundtrip.DefaultDialTimeout,
	// 5s).
	DialTimeout time.Duration
	// MaxReadFrameSize is the largest frame the client accepts, in bytes
	// (x/net's default, 16 KiB is what servers send; zero keeps it).
	MaxReadFrameSize uint32
	// MaxResponseHeaderBytes bounds a response's header list, in bytes as
	// SETTINGS_MAX_HEADER_LIST_SIZE counts them (each field's name and
	// value plus 32), and is advertised in the client's SETTINGS
	// (roundtrip.DefaultMaxResponseHeaderBytes, 1 MiB; at most 4 GiB - 1).
	// A block beyond it fails its request with roundtrip.ErrResponseTooLarge
	// and resets the stream; one that goes on in CONTINUATION frames past it
	// ends the connection too, as x/net's Framer does.
	MaxResponseHeaderBytes int64
}

func (o *Options) normalize() error {
	if o.Addr == "" {
		return errors.New("h2client: Options.Addr is empty")
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = roundtrip.DefaultDialTimeout
	}
	if o.DialTimeout < 0 {
		return fmt.Errorf("h2client: negative DialTimeout %v", o.DialTimeout)
	}
	if o.Dial == nil {
		o.Dial = (&net.Dialer{}).DialContext
	}
	if o.MaxResponseHeaderBytes == 0 {
		o.MaxResponseHeaderBytes = roundtrip.DefaultMaxResponseHeaderBytes
	}
	if o.MaxResponseHeaderBytes < 0 || o.MaxResponseHeaderBytes > math.MaxUint32 {
		return fmt.Errorf("h2client: MaxResponseHeaderBytes %d out of range 1 to %d", o.MaxResponseHeaderBytes, uint32(math.MaxUint32))
	}
	return nil
}

// Client carries every request as a stream on one HTTP/2 connection. When
// the server's MAX_CONCURRENT_STREAMS are all in use, requests wait for a
// free slot, first come first served; the client never opens a second
// connection for them. It is safe for concurrent use.
type Client struct {
	opts Options
	// s is the one-connection layer h2client shares with h3client:
	// (re)connecting, Close, the counts, the body wrapper.
	s *roundtrip.Single[*conn]
}

// New validates opts and returns a client. It dials nothing until the first
// request; call Connect to dial and handshake at a time of your choosing.
func New(opts Options) (*Client, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	c := &Client{opts: opts}
	c.s = roundtrip.NewSingle(roundtrip.SingleOptions[*conn]{Name: "h2client", Closed: ErrClosed, Dial: c.dial,
		Kind: c.roundTripError, Release: func(cn *roundtrip.Conn[*conn]) { <-cn.L.slots }})
	return c, nil
}

// RoundTrip implements http.RoundTripper, so that a Client can be the
// Transport of an http.Client.
func (c *Client) RoundTrip(req *http.Request) (*http.Response, error) {
	return c.Do(req, nil)
}

// Do sends req as a stream on the client's connection, waiting for a free
// stream slot, and fills info (if not nil) as it goes. The slot is freed when
// the response body has been read to EOF or closed; the caller must close it.
//
// info.Acquired is when the request's HEADERS were written: the wire may
// hold a request that has one of the client's slots a little longer, until
// it has forgotten a stream whose body the caller already read to the end
// (the server's stream limit counts it until then), and that time is part
// of the wait, not of the service.
//
// A request that fails once sent is reported, never retried: the caller
// counts it. Only a request that was never written to a connection is moved
// to the next one, and one without a body that the server's GOAWAY refused
// (the server says it never processed it, RFC 9113 6.8) is sent once more
// on a new connection, as browsers do; Stats.Retries counts those.
func (c *Client) Do(req *http.Request, info *roundtrip.Info) (*http.Response, error) {
	// Per request: the body wrapper, which also holds the Info when the
	// caller passes none.
	b := &roundtrip.Body[*conn]{Info: info, S: c.s}
	if info == nil {
		info = &b.Own
		b.Info = info
	}
	info.Start = time.Now()
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		cn, err := c.acquire(ctx)
		if err != nil {
			if req.Body != nil { // a RoundTripper closes the body, whatever happens
				req.Body.Close()
			}
			if attempt > 0 {
				c.s.Failed.Add(1)
				info.End = time.Now()
			}
			return nil, err
		}
		if attempt == 0 {
			c.s.Requests.Add(1)
		}
		c.s.Begin(cn)
		info.Conn, info.Local = cn.Rec.ID, cn.L.local
		info.Reused = cn.Rec.Request()
		var sent time.Time
		resp, err := cn.L.cc.roundTrip(req, &sent)
		info.Acquired = sent
		if sent.IsZero() {
			info.Acquired = time.Now()
		}
		if err != nil {
			err = c.roundTripError(ctx, cn, err)
			c.s.End(cn)
			if attempt == 0 && errors.Is(err, roundtrip.ErrGoAway) && (req.Body == nil || req.Body == http.NoBody) {
				c.s.Retries.Add(1)
				continue
			}
			c.s.Failed.Add(1)
			info.End = time.Now()
			return nil, fmt.Errorf("h2client: %s %s on connection %d: %w", req.Method, req.URL, cn.Rec.ID, err)
		}
		b.RC, b.Resp, b.Cn = resp.Body, resp, cn
		resp.Body = b
		return resp, nil
	}
}

// roundTripError gives err one of roundtrip's kinds, which a caller tests
// with errors.Is: the context's cause when it ended; a GoAwayError (a
// roundtrip.ErrGoAway) as it is; x/net's StreamError as a
// roundtrip.ErrStreamReset (the StreamError still inside, for errors.As);
// ErrClosed when the client was closed; ErrConnLost when the connection
// ended or was told to go away.
func (c *Client) roundTripError(ctx context.Context, cn *roundtrip.Conn[*conn], err error) error {
	var se http2.StreamError
	switch {
	case context.Cause(ctx) != nil:
		return context.Cause(ctx)
	case errors.Is(err, roundtrip.ErrGoAway), errors.Is(err, roundtrip.ErrStreamReset):
		return err
	case errors.As(err, &se):
		return fmt.Errorf("%w: %w", roundtrip.ErrStreamReset, err)
	case c.s.Shut():
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	if st := cn.L.cc.State(); st.Closed || st.Closing {
		return fmt.Errorf("%w: %w", ErrConnLost, err)
	}
	return err
}

// acquire returns a usable connection with a stream slot taken for the
// caller, connecting first if there is none.
func (c *Client) acquire(ctx context.Context) (*roundtrip.Conn[*conn], error) {
	for {
		if c.s.Shut() {
			return nil, ErrClosed
		}
		cn, err := c.s.Connect(ctx)
		if err != nil {
			return nil, err
		}
		if err := c.takeSlot(ctx, cn.L); err != nil {
			return nil, err
		}
		if cn.Usable() {
			return cn, nil
		}
		// The connection went away while we waited; nothing was sent on
		// it, so try the next one.
		<-cn.L.slots
	}
}

// takeSlot waits for one of cn's stream slots, first come first served.
func (c *Client) takeSlot(ctx context.Context, cn *conn) error {
	select {
	case cn.slots <- struct{}{}:
		return nil
	default:
	}
	c.s.Waiting.Inc()
	defer c.s.Waiting.Dec()
	select {
	case cn.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("h2client: waiting for a stream slot: %w", context.Cause(ctx))
	case <-c.s.Done():
		return ErrClosed
	}
}

// Connect dials the connection and completes the HTTP/2 handshake now
// rather than on the first request. It does nothing if connected.
func (c *Client) Connect(ctx context.Context) error {
	_, err := c.s.Connect(ctx)
	return err
}

// Close closes every connection at once; requests in flight fail, and later
// ones get ErrClosed.
func (c *Client) Close() error { return c.s.Close() }

// Stats reports the client's connections and streams.
func (c *Client) Stats() roundtrip.Stats {
	st := c.s.Stats()
	if cn := c.s.Current(); cn != nil {
		st.MaxConcurrentStreams = cn.L.maxStreams
	}
	return st
}
