package h3

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/qlogwriter"

	"muxlab/internal/quicloss"
)

// streamLosses records, per connection and request stream, how long the
// stream's data waited on lost packets, as the server sees it (package
// internal/quicloss): its response data sent again, its request data
// received beyond a hole. The server sees every loss of the response,
// where the client sees one only as a hole in the data after it (a
// response's last packet lost leaves none).
type streamLosses struct {
	mu    sync.Mutex // guards conns
	conns map[netip.AddrPort]*quicloss.Streams
}

// maxLossConns bounds the connections whose figures are kept.
const maxLossConns = 4096

func newStreamLosses() *streamLosses {
	return &streamLosses{conns: make(map[netip.AddrPort]*quicloss.Streams)}
}

// remoteKey is the context key under which the listener's ConnContext puts
// a new connection's remote address, for its trace.
type remoteKey struct{}

// trace is quic.Config.Tracer: a record per connection, known by its
// client's address.
func (s *streamLosses) trace(ctx context.Context, _ bool, _ quic.ConnectionID) qlogwriter.Trace {
	addr, _ := ctx.Value(remoteKey{}).(net.Addr)
	var client netip.AddrPort
	if ua, ok := addr.(*net.UDPAddr); ok {
		client = ua.AddrPort()
	}
	c := quicloss.New(false)
	s.mu.Lock()
	if len(s.conns) >= maxLossConns {
		for k := range s.conns { // forget one, any
			delete(s.conns, k)
			break
		}
	}
	s.conns[client] = c
	s.mu.Unlock()
	return c
}

// take returns what losses cost the stream of the connection from client,
// and forgets the stream; ok is false when the connection is not known.
func (s *streamLosses) take(client netip.AddrPort, stream quic.StreamID) (time.Duration, bool) {
	s.mu.Lock()
	c := s.conns[client]
	if c == nil && client.Addr().Unmap().IsUnspecified() { // a client socket bound to any address: known by its port
		for k, v := range s.conns {
			if k.Port() == client.Port() {
				c = v
				break
			}
		}
	}
	s.mu.Unlock()
	if c == nil {
		return 0, false
	}
	return c.Take(stream, time.Now()), true
}

// Resent reports, over every connection the listener has a record of, how
// many pieces of response data were sent again and their waits from first
// sending added up; ok is false when it does not measure them.
func (l *Listener) Resent() (n int64, wait time.Duration, ok bool) {
	if l.losses == nil {
		return 0, 0, false
	}
	l.losses.mu.Lock()
	defer l.losses.mu.Unlock()
	for _, c := range l.losses.conns {
		cn, cw := c.Resent()
		n, wait = n+cn, wait+cw
	}
	return n, wait, true
}

// StreamLoss returns how long one request stream's data waited on lost
// packets, as the server saw it on the connection from client: its
// response's data sent again (first sending to sending again) and its
// request's data received beyond a hole, overlaps counted once. It forgets
// the stream. ok is false when the listener does not measure it
// (Options.StreamLoss) or does not know the connection.
func (l *Listener) StreamLoss(client netip.AddrPort, stream uint64) (time.Duration, bool) {
	if l.losses == nil {
		return 0, false
	}
	return l.losses.take(client, quic.StreamID(stream))
}
