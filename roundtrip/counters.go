package roundtrip

import (
	"sync"
	"sync/atomic"
)

// Gauge is a count that goes up and down and remembers its peak. It is safe
// for concurrent use and takes no lock. The zero value is ready to use.
type Gauge struct {
	now, peak atomic.Int64
}

// Inc adds one and raises the peak if needed.
func (g *Gauge) Inc() { Raise(&g.peak, g.now.Add(1)) }

// Dec subtracts one.
func (g *Gauge) Dec() { g.now.Add(-1) }

// Load returns the count now and its peak.
func (g *Gauge) Load() (now, peak int64) { return g.now.Load(), g.peak.Load() }

// MaxConnLog is how many connections a ConnLog remembers.
const MaxConnLog = 1000

// ConnLog remembers the connections a client dialed, in order, with the
// requests each carried. The zero value is ready to use.
type ConnLog struct {
	mu    sync.Mutex // mu guards conns
	conns []*ConnRecord
}

// ConnRecord counts one connection's requests; its methods take no lock.
type ConnRecord struct {
	ID       uint64
	requests atomic.Int64
	closed   atomic.Bool
}

// Request counts one more request carried and reports whether the connection
// had carried one before.
func (r *ConnRecord) Request() (reused bool) { return r.requests.Add(1) > 1 }

// Close marks the connection closed.
func (r *ConnRecord) Close() { r.closed.Store(true) }

// Add records a newly dialed connection with the given id.
func (l *ConnLog) Add(id uint64) *ConnRecord {
	r := &ConnRecord{ID: id}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.conns) == MaxConnLog {
		copy(l.conns, l.conns[1:])
		l.conns = l.conns[:MaxConnLog-1]
	}
	l.conns = append(l.conns, r)
	return r
}

// Snapshot returns the remembered connections in dial order.
func (l *ConnLog) Snapshot() []ConnCount {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]ConnCount, len(l.conns))
	for i, r := range l.conns {
		out[i] = ConnCount{Conn: r.ID, Requests: r.requests.Load(), Open: !r.closed.Load()}
	}
	return out
}

// Raise sets p to n if n is larger, without a lock: a peak kept beside a
// count of its own.
func Raise(p *atomic.Int64, n int64) {
	for {
		old := p.Load()
		if n <= old || p.CompareAndSwap(old, n) {
			return
		}
	}
}
