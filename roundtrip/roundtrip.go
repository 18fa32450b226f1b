// Package roundtrip is the vocabulary muxlab's clients share with the harness
// that measures them: what one request reports about the connection that
// carried it (Info), and what a client reports about its connections (Stats).
//
// It exists so that h1pool and h2client can satisfy one interface that bench
// defines without importing bench or each other; it imports only the standard
// library and holds no behaviour beyond small accessors.
package roundtrip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// DefaultDialTimeout bounds one dial and handshake when a client's options
// leave it zero. It is the one default of the clients and the harness.
const DefaultDialTimeout = 5 * time.Second

// DefaultMaxResponseHeaderBytes bounds one response head when a client's
// options leave its bound zero: the HTTP/1.1 status line and fields, HTTP/2's
// header list (as SETTINGS_MAX_HEADER_LIST_SIZE counts it), or HTTP/3's field
// section. 1 MiB is four times Chromium's own bound (256 KiB) and far above
// any real site's, and small enough that a server which never ends its
// header block costs a run a few megabytes per connection, not gigabytes.
const DefaultMaxResponseHeaderBytes int64 = 1 << 20

// The kinds of failure every client shares. Each client's own errors wrap
// them (h2client.ErrConnLost is a roundtrip.ErrConnLost), so that a caller
// sorts any client's failures with errors.Is on these alone.
var (
	// ErrClosed: the client was closed before or while the request ran.
	ErrClosed = errors.New("client closed")
	// ErrConnLost: the connection the request was on broke, or was closed
	// or told to go away by the server, while the request was on it.
	ErrConnLost = errors.New("connection lost")
	// ErrHandshake: no connection could be made: the server did not
	// complete the protocol's handshake (TLS, ALPN, HTTP/2's SETTINGS,
	// QUIC).
	ErrHandshake = errors.New("handshake failed")
	// ErrGoAway: the server's GOAWAY refused the request's stream before
	// processing it.
	ErrGoAway = errors.New("refused by GOAWAY")
	// ErrStreamReset: the server reset the request's stream (HTTP/2's
	// RST_STREAM, QUIC's RESET_STREAM), or the client reset it because the
	// server broke the protocol on it.
	ErrStreamReset = errors.New("stream reset")
)

// ErrResponseTooLarge is wrapped by the error of a request whose response
// head went past its client's bound. The request fails alone; the connection
// that carried it is closed (HTTP/1.1, where the rest of the head is still on
// it) or the stream reset (HTTP/2, HTTP/3).
var ErrResponseTooLarge = errors.New("response too large")

// Info is what one request reports about how it was carried. A client fills
// it in; the caller owns it and must keep it until the response body is
// closed, because End is stamped then.
type Info struct {
	// Start is when the client was asked to send the request.
	Start time.Time
	// Acquired is when the request had its connection (HTTP/1.1) or its
	// stream slot (HTTP/2) and could be written. Zero if it never did.
	Acquired time.Time
	// End is when the response body reached EOF, failed or was closed. Zero
	// until then.
	End time.Time
	// Conn is the client's own id of the connection that carried the
	// request: 1 for the first connection it dialed, 2 for the next, and so
	// on. Zero if no connection was had.
	Conn uint64
	// Reused says the connection had carried a request before this one.
	Reused bool
	// HeldBack is how long the response waited behind earlier responses on
	// its connection before it could begin (HTTP/1.1 pipelining, where
	// answers come in order): from the request's write to the end of the
	// response ahead of it, when that came later. Zero for a client whose
	// responses do not queue on a connection.
	HeldBack time.Duration
	// Local is the client's end of the connection that carried the
	// request (its TCP connection, or its QUIC connection's UDP socket),
	// for matching the request with what the network or the server saw of
	// it (an emulated link's losses, a server's per-stream figures). Zero
	// when not known.
	Local netip.AddrPort
	// Stream is the id of the stream that carried the request, when
	// Streamed (HTTP/3, when the client measures StreamLoss).
	Stream   uint64
	Streamed bool
	// LossHeld is how long the response's bytes waited for lost packets to
	// be sent again, when the client can see it: for HTTP/3, the time its
	// own stream's data waited behind a hole in it (QUIC holds back only the
	// stream whose bytes were lost). Zero when the client does not measure
	// it; TCP's is measured by the network, not the client (TCP delivers
	// every stream's bytes in order, so one loss holds them all).
	LossHeld time.Duration
}

// Wait is how long the request waited for a connection or a stream slot,
// dialing included.
func (i *Info) Wait() time.Duration {
	if i.Acquired.IsZero() {
		return 0
	}
	return i.Acquired.Sub(i.Start)
}

// Service is the time from having the connection or slot to the end of the
// response body.
func (i *Info) Service() time.Duration {
	if i.Acquired.IsZero() || i.End.IsZero() {
		return 0
	}
	return i.End.Sub(i.Acquired)
}

// Stats is what a client reports about its connections and requests since it
// was made.
type Stats struct {
	// Dials counts connections dialed, the first included.
	Dials int64 `json:"dials"`
	// Reconnects counts dials that replaced a connection that broke, was
	// closed by the server, or was told to go away (GOAWAY).
	Reconnects int64 `json:"reconnects"`
	// ConnsOpen and ConnsPeak are connections open now and at most at once.
	ConnsOpen int64 `json:"conns_open"`
	ConnsPeak int64 `json:"conns_peak"`
	// InFlight and InFlightPeak count requests holding a connection or a
	// stream slot, now and at most at once.
	InFlight     int64 `json:"in_flight"`
	InFlightPeak int64 `json:"in_flight_peak"`
	// Waiting and WaitingPeak count requests queued for a connection or a
	// stream slot, now and at most at once.
	Waiting     int64 `json:"waiting"`
	WaitingPeak int64 `json:"waiting_peak"`
	// Requests counts requests that got a connection; Failed those of them
	// that ended in an error (a broken connection, a cancelled context).
	Requests int64 `json:"requests"`
	Failed   int64 `json:"failed"`
	// Retries counts requests sent a second time because the server had
	// not processed them: the kept-alive HTTP/1.1 connection they were
	// written to turned out to be closed by the server before it answered
	// (idempotent requests without a body), or the server's GOAWAY refused
	// their HTTP/2 stream (requests without a body).
	Retries int64 `json:"retries,omitempty"`
	// PerConn lists the connections in dial order with their request counts
	// (the most recent 1,000 connections).
	PerConn []ConnCount `json:"per_conn"`
	// MaxConcurrentStreams is the HTTP/2 server's advertised
	// SETTINGS_MAX_CONCURRENT_STREAMS on the current connection; zero for
	// HTTP/1.1.
	MaxConcurrentStreams uint32 `json:"max_concurrent_streams,omitempty"`
	// PeakStreams is the most streams ever in flight at once on one HTTP/2
	// connection; zero for HTTP/1.1.
	PeakStreams int64 `json:"peak_streams,omitempty"`
}

// ConnCount is one connection's share of the requests.
type ConnCount struct {
	Conn     uint64 `json:"conn"`
	Requests int64  `json:"requests"`
	Open     bool   `json:"open"`
}

// CauseOf returns the cause of ctx's end, with err beside it, when ctx has
// ended, and err otherwise. A dial or a read cut short by a context reports
// only that it was cancelled ("operation was canceled"), whatever the
// context's cause (a request timeout, the end of a run): the cause is what
// the caller needs to tell them apart.
func CauseOf(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
		return fmt.Errorf("%w (%v)", cause, err)
	}
	return err
}

// kindError is a client's own error value that is also one of the shared
// kinds.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// NewKind returns an error that says msg and is kind under errors.Is: a
// client's own sentinel of a shared kind ("h2client: client is closed", an
// ErrClosed).
func NewKind(msg string, kind error) error { return &kindError{msg, kind} }

// AddrPortOf is a connection's or socket's address as an address and port,
// for Info.Local; zero if it has none that parses (not TCP or UDP).
func AddrPortOf(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort()
	case *net.UDPAddr:
		return a.AddrPort()
	case nil:
		return netip.AddrPort{}
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}
