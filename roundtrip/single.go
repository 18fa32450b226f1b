package roundtrip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Link is one multiplexed connection as a single-connection client made it:
// it says whether it takes new requests, and closes its transport.
type Link interface {
	// Usable reports whether new requests may go on it: it has not broken,
	// been told to go away, or run out of streams.
	Usable() bool
	// Close closes the transport at once; requests in flight fail.
	Close()
}

// Single is the connection layer that h2client and h3client share: exactly
// one connection in use at a time, dialed on first need and again only
// when it can take no more requests (counted as a reconnect); the
// connections not yet closed, each closed once idle when it is replaced;
// Close; the counts of Stats; and the response body wrapper that ends a
// request (Body). The client supplies how a connection is dialed (its
// protocol's handshake), what an error means (its kinds), and what a
// request gives back when it ends (a stream slot).
type Single[L Link] struct {
	dial    func(ctx context.Context) (L, error)
	kind    func(ctx context.Context, cn *Conn[L], err error) error
	release func(cn *Conn[L])
	closed  error  // the client's ErrClosed
	name    string // the client's package, for messages

	// dialing is a one-token lock around (re)connecting that a waiter can
	// abandon when its context ends.
	dialing chan struct{}
	done    chan struct{} // closed by Close
	shut    atomic.Bool
	cur     atomic.Pointer[Conn[L]] // the connection new requests use

	mu    sync.Mutex // mu guards conns
	conns []*Conn[L] // every connection not yet closed

	nextID atomic.Uint64
	// The counts of Stats, kept by Single and by the client.
	Dials, Reconnects, Requests, Failed, Retries atomic.Int64
	// Peak is the most requests in flight at once on one connection.
	Peak                    atomic.Int64
	Open, InFlight, Waiting Gauge
	Log                     ConnLog
}

// SingleOptions makes a Single. Every field is required but Release.
type SingleOptions[L Link] struct {
	// Name is the client's package ("h2client"), for messages.
	Name string
	// Closed is the client's ErrClosed, returned after Close.
	Closed error
	// Dial dials and completes the handshake within ctx, counting in
	// Dials what it counts as a dial.
	Dial func(ctx context.Context) (L, error)
	// Kind gives an error of a request on cn one of the shared kinds.
	Kind func(ctx context.Context, cn *Conn[L], err error) error
	// Release, if not nil, gives back what a request held on cn besides
	// its count (a stream slot); it runs as the request ends.
	Release func(cn *Conn[L])
}

// NewSingle returns the layer of a client that has dialed nothing yet.
func NewSingle[L Link](o SingleOptions[L]) *Single[L] {
	return &Single[L]{dial: o.Dial, kind: o.Kind, release: o.Release, closed: o.Closed, name: o.Name,
		dialing: make(chan struct{}, 1), done: make(chan struct{})}
}

// Conn is one connection of a Single: the client's Link and its record.
type Conn[L Link] struct {
	L        L
	Rec      *ConnRecord
	inFlight atomic.Int64
	closed   atomic.Bool
	s        *Single[L]
}

// Usable reports whether new requests may go on cn.
func (cn *Conn[L]) Usable() bool { return !cn.closed.Load() && cn.L.Usable() }

// InFlight is how many requests are on cn now.
func (cn *Conn[L]) InFlight() int64 { return cn.inFlight.Load() }

// CloseIfIdle closes cn once no request is in flight on it.
func (cn *Conn[L]) CloseIfIdle() {
	if cn.inFlight.Load() == 0 {
		cn.Close()
	}
}

// Close closes cn at once, once.
func (cn *Conn[L]) Close() {
	if cn.closed.Swap(true) {
		return
	}
	cn.L.Close()
	cn.Rec.Close()
	s := cn.s
	s.Open.Dec()
	s.mu.Lock()
	s.conns = slices.DeleteFunc(s.conns, func(x *Conn[L]) bool { return x == cn })
	s.mu.Unlock()
}

// Shut reports whether Close was called; Done is closed then.
func (s *Single[L]) Shut() bool            { return s.shut.Load() }
func (s *Single[L]) Done() <-chan struct{} { return s.done }

// Current is the connection new requests use, nil before the first dial.
func (s *Single[L]) Current() *Conn[L] { return s.cur.Load() }

// Conns lists the connections not yet closed.
func (s *Single[L]) Conns() []*Conn[L] {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.conns)
}

// Connect returns the current connection, or dials a new one if there is
// none or it can take no more requests.
func (s *Single[L]) Connect(ctx context.Context) (*Conn[L], error) {
	if cn := s.cur.Load(); cn != nil && cn.Usable() {
		return cn, nil
	}
	select {
	case s.dialing <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: waiting for the connection: %w", s.name, context.Cause(ctx))
	case <-s.done:
		return nil, s.closed
	}
	defer func() { <-s.dialing }()
	old := s.cur.Load()
	if old != nil && old.Usable() {
		return old, nil // another request reconnected while we waited
	}
	if s.shut.Load() {
		return nil, s.closed
	}
	l, err := s.dial(ctx)
	if err != nil {
		return nil, err
	}
	cn := &Conn[L]{L: l, Rec: s.Log.Add(s.nextID.Add(1)), s: s}
	s.Open.Inc()
	s.mu.Lock()
	s.conns = append(s.conns, cn)
	s.mu.Unlock()
	if s.shut.Load() { // Close ran while we dialed
		cn.Close()
		return nil, s.closed
	}
	if old != nil {
		s.Reconnects.Add(1)
		old.CloseIfIdle()
	}
	s.cur.Store(cn)
	return cn, nil
}

// Begin counts a request on cn.
func (s *Single[L]) Begin(cn *Conn[L]) {
	s.InFlight.Inc()
	Raise(&s.Peak, cn.inFlight.Add(1))
}

// End ends a request that Begin counted on cn: the counts first, then
// Release's part (a stream slot given back before the count fell would let
// the next request count one more in flight than the server allows), and
// cn closes if it is spent and idle.
func (s *Single[L]) End(cn *Conn[L]) {
	cn.inFlight.Add(-1)
	s.InFlight.Dec()
	if s.release != nil {
		s.release(cn)
	}
	if !cn.Usable() {
		cn.CloseIfIdle()
	}
}

// Kind gives err, of a request on cn, one of the shared kinds.
func (s *Single[L]) Kind(ctx context.Context, cn *Conn[L], err error) error {
	return s.kind(ctx, cn, err)
}

// Close closes every connection at once; requests in flight fail, and later
// ones get the client's ErrClosed.
func (s *Single[L]) Close() error {
	if s.shut.Swap(true) {
		return nil
	}
	close(s.done)
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for _, cn := range conns {
		cn.Close()
	}
	return nil
}

// Stats is the counts Single keeps; the client adds its own.
func (s *Single[L]) Stats() Stats {
	st := Stats{Dials: s.Dials.Load(), Reconnects: s.Reconnects.Load(), Requests: s.Requests.Load(),
		Failed: s.Failed.Load(), Retries: s.Retries.Load(), PerConn: s.Log.Snapshot(), PeakStreams: s.Peak.Load()}
	st.ConnsOpen, st.ConnsPeak = s.Open.Load()
	st.InFlight, st.InFlightPeak = s.InFlight.Load()
	st.Waiting, st.WaitingPeak = s.Waiting.Load()
	return st
}

// Body is a response body that ends its request when it is read to its end,
// fails or is closed: it stamps Info.End, counts a failure once, gives the
// error its kind, and calls Single.End.
type Body[L Link] struct {
	RC   io.ReadCloser // the body as read from the connection
	Resp *http.Response
	Info *Info
	Own  Info // Info's storage when the caller gave none
	S    *Single[L]
	Cn   *Conn[L]
	// OnEnd, if set, is called once when the request ends, before End is
	// stamped: for the client's own figures of the request.
	OnEnd func()
	done  atomic.Bool
}

func (b *Body[L]) Read(p []byte) (int, error) {
	n, err := b.RC.Read(p)
	if err != nil {
		first := b.finish()
		if err != io.EOF {
			if first { // a Read after the error must not count it again
				b.S.Failed.Add(1)
			}
			ctx := b.Resp.Request.Context()
			if cerr := context.Cause(ctx); cerr != nil {
				err = cerr
			} else if !errors.Is(err, ErrConnLost) {
				err = b.S.Kind(ctx, b.Cn, err)
			}
		}
	}
	return n, err
}

// Close ends the request; a body not read to its end resets its stream and
// the connection carries on.
func (b *Body[L]) Close() error {
	err := b.RC.Close()
	b.finish()
	return err
}

// finish ends the request once and reports whether this call did.
func (b *Body[L]) finish() bool {
	if b.done.Swap(true) {
		return false
	}
	if b.OnEnd != nil {
		b.OnEnd()
	}
	b.Info.End = time.Now()
	b.S.End(b.Cn)
	return true
}
