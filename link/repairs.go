package link

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// repairs records, per TCP connection, the times it spent waiting for a lost
// packet to be sent again: from when the lost packet was due at its receiver
// to when the first retransmission of its bytes was delivered, in either
// direction. TCP delivers in order, so every byte behind a lost one waits
// that long, whichever request (HTTP/2 stream) it belongs to: this is how
// the link measures the transport's head-of-line blocking, rather than
// inferring it from the protocol.
//
// Connections are told apart by the client's port (the client's address is
// ClientIP on both stacks). Only lost packets that carry data (or SYN, FIN)
// open a hole: a lost pure ACK is never sent again.
type repairs struct {
	mu    sync.Mutex            // guards the following
	flows map[uint16]*flowHoles // by the client's port
	spans int                   // spans kept, over every flow

	open atomic.Int64 // lost ranges not yet repaired, over every flow; written under mu
}

// flowHoles is one connection's losses.
type flowHoles struct {
	lost  [2][]lostRange // not yet repaired, up and down
	since time.Time      // when the oldest unrepaired hole was due; zero: none open
	done  []span         // holes repaired, oldest first
}

// lostRange is a lost segment's bytes not yet delivered again: sequence
// numbers [seq, end).
type lostRange struct{ seq, end uint32 }

// span is a time a connection waited on a retransmission.
type span struct{ from, to time.Time }

// Bounds on what repairs keeps: spans per connection (the oldest go first)
// and in all. A request's time is looked up as soon as it ends, so only
// recent spans matter.
const (
	maxFlowSpans  = 256
	maxSpans      = 1 << 16
	maxLostRanges = 1024
)

func newRepairs() *repairs { return &repairs{flows: make(map[uint16]*flowHoles)} }

// tcpSegment reads an IPv4 TCP segment's head: the client's port (the
// source going up, the destination coming down), its first sequence number
// and how many sequence numbers it uses (its payload, plus one each for SYN
// and FIN), and whether it opens a connection. ok is false for anything
// else.
func tcpSegment(b []byte, up bool) (s segment, ok bool) {
	if len(b) < header.IPv4MinimumSize || b[0]>>4 != 4 {
		return s, false
	}
	ip := header.IPv4(b)
	ihl := int(ip.HeaderLength())
	if ip.TransportProtocol() != header.TCPProtocolNumber || ihl < header.IPv4MinimumSize || len(b) < ihl+header.TCPMinimumSize {
		return s, false
	}
	tcp := header.TCP(b[ihl:])
	payload := int(ip.TotalLength()) - ihl - int(tcp.DataOffset())
	if payload < 0 {
		return s, false
	}
	s.seq, s.n = tcp.SequenceNumber(), uint32(payload)
	flags := tcp.Flags()
	if s.syn = flags.Contains(header.TCPFlagSyn); s.syn {
		s.n++
	}
	if flags.Contains(header.TCPFlagFin) {
		s.n++
	}
	s.port = tcp.DestinationPort()
	if up {
		s.port = tcp.SourcePort()
	}
	return s, true
}

// segment is what repairs reads of a TCP segment.
type segment struct {
	port   uint16 // the client's
	seq, n uint32 // its first sequence number, how many it uses
	syn    bool
}

// headLen is how much of a packet tcpSegment needs: the longest IPv4 and
// TCP headers.
const headLen = 60 + 60

// lost records a segment dropped on its way (up: client to server) that was
// due at its receiver at due.
func (r *repairs) lost(head []byte, up bool, due time.Time) {
	sg, ok := tcpSegment(head, up)
	if !ok || sg.n == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.flows[sg.port]
	if f == nil {
		f = &flowHoles{}
		r.flows[sg.port] = f
	}
	d := dirIndex(up)
	if len(f.lost[d]) >= maxLostRanges {
		return
	}
	if f.since.IsZero() {
		f.since = due
	}
	f.lost[d] = append(f.lost[d], lostRange{sg.seq, sg.seq + sg.n})
	r.open.Add(1)
}

// delivered notes a packet delivered at now, which may repair a hole. It
// costs nothing while no hole is open.
func (r *repairs) delivered(head []byte, up bool, now time.Time) {
	sg, ok := tcpSegment(head, up)
	if !ok || sg.n == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.flows[sg.port]
	if f == nil {
		return
	}
	if sg.syn && up && !f.since.IsZero() && !f.isLost(0, sg.seq) { // a new connection on the port of one that ended with a hole open
		r.open.Add(-int64(len(f.lost[0]) + len(f.lost[1])))
		f.lost, f.since = [2][]lostRange{}, time.Time{}
	}
	d := dirIndex(up)
	seq, end := sg.seq, sg.seq+sg.n
	kept := f.lost[d][:0]
	for _, l := range f.lost[d] {
		// The segment repairs the front of l if it holds l's first byte.
		if seqLEQ(seq, l.seq) && seqLess(l.seq, end) {
			l.seq = end
		}
		if seqLess(l.seq, l.end) {
			kept = append(kept, l)
		} else {
			r.open.Add(-1)
		}
	}
	clear(f.lost[d][len(kept):])
	f.lost[d] = kept
	if !f.since.IsZero() && len(f.lost[0]) == 0 && len(f.lost[1]) == 0 {
		r.addSpanLocked(f, span{f.since, now})
		f.since = time.Time{}
	}
}

// anyOpen reports whether some hole waits for its repair, taking no lock.
func (r *repairs) anyOpen() bool { return r.open.Load() > 0 }

// isLost reports whether a range lost in direction d starts at seq.
func (f *flowHoles) isLost(d int, seq uint32) bool {
	for _, l := range f.lost[d] {
		if l.seq == seq {
			return true
		}
	}
	return false
}

func (r *repairs) addSpanLocked(f *flowHoles, s span) {
	if s.to.Before(s.from) { // delivered before it was due: the clocks of send and delivery differ by a jitter's draw
		s.to = s.from
	}
	if len(f.done) >= maxFlowSpans {
		f.done = append(f.done[:0], f.done[1:]...)
		r.spans--
	}
	if r.spans >= maxSpans {
		for port, g := range r.flows { // forget a connection that has none open
			if g != f && g.since.IsZero() {
				r.spans -= len(g.done)
				delete(r.flows, port)
				if r.spans < maxSpans {
					break
				}
			}
		}
	}
	f.done = append(f.done, s)
	r.spans++
}

// held is how much of [from, to] the connection whose client port is port
// spent waiting on a retransmission.
func (r *repairs) held(port uint16, from, to time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.flows[port]
	if f == nil {
		return 0
	}
	var d time.Duration
	for _, s := range f.done {
		a, b := s.from, s.to
		if a.Before(from) {
			a = from
		}
		if b.After(to) {
			b = to
		}
		if b.After(a) {
			d += b.Sub(a)
		}
	}
	// A hole still open held nothing the request got: TCP delivers in
	// order, so every byte it read came before the hole.
	return d
}

func dirIndex(up bool) int {
	if up {
		return 0
	}
	return 1
}

// seqLess and seqLEQ compare TCP sequence numbers, which wrap.
func seqLess(a, b uint32) bool { return int32(a-b) < 0 }
func seqLEQ(a, b uint32) bool  { return int32(a-b) <= 0 }

// LossHeld reports how much of the time from from to to the TCP connection
// whose client end is local spent waiting for a lost packet to be sent
// again, in either direction: from when the lost packet was due at its
// receiver to when its retransmission arrived. Every byte behind the lost
// one waited with it, so a request on the connection that was in flight
// then was held back by the transport, whether or not its own bytes were
// lost. ok is false if local is not the client's end of a connection over
// this link (a connection through a relay from the machine's own network).
func (n *Network) LossHeld(local netip.AddrPort, from, to time.Time) (held time.Duration, ok bool) {
	if local.Addr().Unmap() != ClientIP || !to.After(from) {
		return 0, local.Addr().Unmap() == ClientIP
	}
	return n.repairs.held(local.Port(), from, to), true
}
