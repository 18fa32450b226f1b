package mux

import (
	"context"
	"net"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
)

// MaxClosedConns is how many closed connections /stats?conns=1 remembers; older
// ones are forgotten so that memory stays bounded on a long-running server.
const MaxClosedConns = 10000

// Stats is the server's ground truth: what arrived on each listener, counted
// by the server itself rather than by any client.
type Stats struct {
	// Listeners by name: "h1", "h2c", "both", "h1_tls", "h2_tls", "h3".
	Listeners map[string]ListenerStats `json:"listeners"`
	// Connections is filled only when asked for (/stats?conns=1, or
	// Server.ConnStats): open connections and the most recent closed ones,
	// ordered by id.
	Connections []ConnStats `json:"connections,omitempty"`
	// Name is the server's Options.Name, if any.
	Name string `json:"name,omitempty"`
	// BusyMS is the time, in milliseconds, the server had at least one
	// request in flight on any listener, and InFlight how many it has now.
	BusyMS   float64 `json:"busy_ms"`
	InFlight int64   `json:"in_flight"`
}

// ListenerStats counts what one listener saw since the server started or
// since the last reset.
type ListenerStats struct {
	Addr                string `json:"addr"`
	ConnectionsAccepted int64  `json:"connections_accepted"`
	ConnectionsOpen     int64  `json:"connections_open"`
	// ConnectionsIdle counts accepted connections that carried no request
	// (browsers open speculative ones; wrk opens a probe).
	ConnectionsIdle     int64            `json:"connections_idle"`
	Requests            int64            `json:"requests"`
	InFlight            int64            `json:"in_flight"`
	PeakInFlightPerConn int64            `json:"peak_in_flight_per_conn"`
	Protos              map[string]int64 `json:"protos"`
	// Handshakes, for a listener that reports them (HTTP/3's), tells
	// connection attempts from connections: only a completed handshake is
	// counted in ConnectionsAccepted.
	Handshakes *HandshakeStats `json:"handshakes,omitempty"`
}

// HandshakeStats counts a QUIC listener's connection attempts and what
// became of them.
type HandshakeStats struct {
	// Attempts counts Initials that would start a connection (a client
	// that sends its first flight in two Initials counts twice): those
	// sent a Retry (RetriesSent) are among them and come back, if the
	// client is real, as a validated attempt.
	Attempts int64 `json:"attempts"`
	// RetriesSent counts attempts answered with a Retry (address
	// validation) because too many handshakes were in progress.
	RetriesSent int64 `json:"retries_sent"`
	// Validated counts attempts that came back with a valid Retry token.
	Validated int64 `json:"validated"`
	// Refused counts attempts refused because MaxHandshakes were in
	// progress.
	Refused int64 `json:"refused"`
	// Completed and Failed count handshakes that finished, either way
	// (failed: timed out, or the client gave up).
	Completed int64 `json:"completed"`
	Failed    int64 `json:"failed"`
	// InProgress counts handshakes started and not yet finished, now.
	InProgress int64 `json:"in_progress"`
}

// ConnStats describes one connection: TCP, or QUIC on the h3 listener.
type ConnStats struct {
	ID           uint64 `json:"id"`
	Listener     string `json:"listener"`
	Remote       string `json:"remote"`
	Requests     int64  `json:"requests"`
	PeakInFlight int64  `json:"peak_in_flight"`
	Open         bool   `json:"open"`
}

// protocol names counted apart; anything else counts as "other".
var protoNames = [...]string{"HTTP/1.0", "HTTP/1.1", "HTTP/2.0", "HTTP/3.0", "other"}

// protoHeaders are the Muxlab-Proto header values of the known protocols.
var protoHeaders = func() (h [len(protoNames)][]string) {
	for i, n := range protoNames {
		h[i] = []string{n}
	}
	return h
}()

// protoHeader returns the Muxlab-Proto header value for p, shared when p is
// a known protocol.
func protoHeader(p string) []string {
	if i := protoIndex(p); i < len(protoNames)-1 {
		return protoHeaders[i]
	}
	return []string{p}
}

func protoIndex(p string) int {
	for i, n := range protoNames[:len(protoNames)-1] {
		if p == n {
			return i
		}
	}
	return len(protoNames) - 1
}

// listenerStats is the mutable counterpart of ListenerStats. Counters are
// atomics so that the per-request path takes no lock.
type listenerStats struct {
	name string
	addr string
	tls  bool

	accepted atomic.Int64
	active   atomic.Int64 // connections that carried at least one request
	open     atomic.Int64
	requests atomic.Int64
	inFlight atomic.Int64
	peak     atomic.Int64
	protos   [len(protoNames)]atomic.Int64
	// hs counts handshakes, for a listener that reports them; nil
	// otherwise.
	hs *handshakeCounters
}

// handshakeCounters are HandshakeStats' live counts.
type handshakeCounters struct {
	attempts, retries, validated, refused, completed, failed, inProgress atomic.Int64
}

// connRecord is one connection's counters.
type connRecord struct {
	id       uint64
	idHeader []string // id as the value of the Muxlab-Conn header
	ls       *listenerStats
	remote   string
	requests atomic.Int64
	inFlight atomic.Int64
	peak     atomic.Int64
	open     atomic.Bool
}

// tracker keeps connection records for all listeners of one server.
type tracker struct {
	nextID atomic.Uint64

	mu sync.Mutex // mu guards the following
	// open holds the records of open connections, by their net.Conn (or
	// an external listener's key for its connection).
	open map[any]*connRecord
	// closed is a ring of the most recent closed connections.
	closed     []*connRecord
	closedNext int
}

func newTracker() *tracker {
	return &tracker{open: make(map[any]*connRecord)}
}

type connKey struct{}

// connContext is an http.Server ConnContext: it opens a record for c.
func (t *tracker) connContext(ls *listenerStats) func(context.Context, net.Conn) context.Context {
	return func(ctx context.Context, c net.Conn) context.Context {
		id := t.nextID.Add(1)
		rec := &connRecord{id: id, ls: ls, remote: c.RemoteAddr().String(),
			idHeader: []string{strconv.FormatUint(id, 10)}}
		rec.open.Store(true)
		ls.accepted.Add(1)
		ls.open.Add(1)
		t.mu.Lock()
		t.open[c] = rec
		t.mu.Unlock()
		return context.WithValue(ctx, connKey{}, rec)
	}
}

// connState is an http.Server ConnState hook: it closes c's record.
func (t *tracker) connState(c net.Conn, st http.ConnState) {
	if st != http.StateClosed && st != http.StateHijacked {
		return
	}
	t.closeConn(c)
}

// closeConn closes the record of the connection known by key.
func (t *tracker) closeConn(key any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rec, ok := t.open[key]
	if !ok {
		return
	}
	delete(t.open, key)
	rec.open.Store(false)
	rec.ls.open.Add(-1)
	t.rememberClosedLocked(rec)
}

func (t *tracker) rememberClosedLocked(rec *connRecord) {
	if len(t.closed) < MaxClosedConns {
		t.closed = append(t.closed, rec)
		return
	}
	t.closed[t.closedNext] = rec
	t.closedNext = (t.closedNext + 1) % MaxClosedConns
}

// begin counts the start of a request on rec and returns the number now in
// flight on that connection.
func (rec *connRecord) begin(proto string) {
	ls := rec.ls
	ls.requests.Add(1)
	ls.inFlight.Add(1)
	ls.protos[protoIndex(proto)].Add(1)
	if rec.requests.Add(1) == 1 {
		ls.active.Add(1)
	}
	n := rec.inFlight.Add(1)
	raiseTo(&rec.peak, n)
	raiseTo(&ls.peak, n)
}

func (rec *connRecord) end() {
	rec.inFlight.Add(-1)
	rec.ls.inFlight.Add(-1)
}

// raiseTo sets p to n if n is larger, without a lock. It is
// roundtrip.Raise's twin: mux imports only the standard library, for it is
// the server the clients are judged against.
func raiseTo(p *atomic.Int64, n int64) {
	for {
		old := p.Load()
		if n <= old || p.CompareAndSwap(old, n) {
			return
		}
	}
}

func (ls *listenerStats) snapshot() ListenerStats {
	s := ListenerStats{
		Addr:                ls.addr,
		ConnectionsAccepted: ls.accepted.Load(),
		ConnectionsOpen:     ls.open.Load(),
		ConnectionsIdle:     max(ls.accepted.Load()-ls.active.Load(), 0),
		Requests:            ls.requests.Load(),
		InFlight:            ls.inFlight.Load(),
		PeakInFlightPerConn: ls.peak.Load(),
		Protos:              make(map[string]int64),
	}
	if hs := ls.hs; hs != nil {
		s.Handshakes = &HandshakeStats{Attempts: hs.attempts.Load(), RetriesSent: hs.retries.Load(),
			Validated: hs.validated.Load(), Refused: hs.refused.Load(), Completed: hs.completed.Load(),
			Failed: hs.failed.Load(), InProgress: hs.inProgress.Load()}
	}
	for i := range ls.protos {
		if n := ls.protos[i].Load(); n > 0 {
			s.Protos[protoNames[i]] = n
		}
	}
	return s
}

func (rec *connRecord) snapshot() ConnStats {
	return ConnStats{
		ID:           rec.id,
		Listener:     rec.ls.name,
		Remote:       rec.remote,
		Requests:     rec.requests.Load(),
		PeakInFlight: rec.peak.Load(),
		Open:         rec.open.Load(),
	}
}

// conns lists open connections and the remembered closed ones, by id.
func (t *tracker) conns() []ConnStats {
	t.mu.Lock()
	out := make([]ConnStats, 0, len(t.open)+len(t.closed))
	for _, rec := range t.open {
		out = append(out, rec.snapshot())
	}
	for _, rec := range t.closed {
		out = append(out, rec.snapshot())
	}
	t.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// reset zeroes the counters of every listener and open connection and forgets
// closed connections. Open connections stay counted as open.
func (t *tracker) reset(listeners []*listenerStats) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, ls := range listeners {
		ls.accepted.Store(0)
		ls.active.Store(0)
		ls.requests.Store(0)
		ls.peak.Store(0)
		for i := range ls.protos {
			ls.protos[i].Store(0)
		}
		if hs := ls.hs; hs != nil { // in_progress is a gauge: it stays
			for _, c := range []*atomic.Int64{&hs.attempts, &hs.retries, &hs.validated, &hs.refused, &hs.completed, &hs.failed} {
				c.Store(0)
			}
		}
	}
	for _, rec := range t.open {
		rec.requests.Store(0)
		rec.peak.Store(0)
	}
	t.closed, t.closedNext = nil, 0
}
