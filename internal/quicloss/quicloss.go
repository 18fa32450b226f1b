// Package quicloss measures, per QUIC stream, how long the stream's data
// waited on lost packets, from the qlog events quic-go hands a connection's
// trace (quic.Config.Tracer). One end sees two things:
//
//   - data it sent again (declared lost, or sent again as a probe when the
//     probe timer fired): the time from its first sending to its sending
//     again, which is how much later it reaches the peer;
//   - data it received beyond a hole in the stream: the time from the first
//     bytes beyond the hole to the bytes that filled it (the peer's lost
//     data sent again), during which the stream's data waited.
//
// QUIC delivers each stream in order and streams independently, so this is
// each stream's own head-of-line blocking: another stream's loss adds
// nothing. A receiver sees no hole when a stream's last packet is lost
// (nothing of the stream arrives beyond it); its sender sees the sending
// again. A piece sent again that had in fact arrived (a probe, an ACK
// lost) counts too.
package quicloss

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/qlog"
	"github.com/quic-go/quic-go/qlogwriter"
)

// Bounds on what a Streams keeps: streams whose figures wait to be taken,
// first sendings and ranges beyond a hole per stream, and spans per stream.
const (
	MaxStreams = 4096
	maxPieces  = 1024
	maxAhead   = 1024
	maxSpans   = 64
)

// Streams is one connection's record, and its qlog trace. Only requests'
// streams (client-initiated, bidirectional) are recorded.
type Streams struct {
	watched bool // record only streams given to Watch

	// resent and resentWait count every piece of data sent again and the
	// time from its first sending, whether its stream is taken or not.
	resent     atomic.Int64
	resentWait atomic.Int64 // nanoseconds

	mu      sync.Mutex // guards streams
	streams map[quic.StreamID]*stream
}

// stream is what one stream sent (its pieces' first sendings, in order, up
// to sentEnd) and received (in order up to next, the ranges beyond it
// sorted and apart, a hole open since since), and the spans its data
// waited on losses.
type stream struct {
	pieces  []piece
	sentEnd int64

	next  int64
	ahead []byteRange
	since time.Time

	spans []span
}

type piece struct {
	from, to int64
	at       time.Time
}

type byteRange struct{ from, to int64 }

type span struct{ from, to time.Time }

// New returns an empty record. With watched, only the streams given to
// Watch are recorded (a client's, for its requests); without, every
// request stream is, up to MaxStreams not yet taken (a server's).
func New(watched bool) *Streams {
	return &Streams{watched: watched, streams: make(map[quic.StreamID]*stream)}
}

// Resent reports how many pieces of data this end sent again, and their
// waits from first sending added up.
func (s *Streams) Resent() (n int64, wait time.Duration) {
	return s.resent.Load(), time.Duration(s.resentWait.Load())
}

// Watch starts recording stream id.
func (s *Streams) Watch(id quic.StreamID) {
	s.mu.Lock()
	s.streams[id] = &stream{}
	s.mu.Unlock()
}

// Take returns how long stream id's data waited on losses, overlaps counted
// once (a hole still open counts until now), and forgets the stream.
func (s *Streams) Take(id quic.StreamID, now time.Time) time.Duration {
	s.mu.Lock()
	st := s.streams[id]
	delete(s.streams, id)
	s.mu.Unlock()
	if st == nil {
		return 0
	}
	if !st.since.IsZero() {
		st.spans = append(st.spans, span{st.since, now})
	}
	return union(st.spans)
}

// union is the time the spans cover together.
func union(spans []span) time.Duration {
	slices.SortFunc(spans, func(a, b span) int { return a.from.Compare(b.from) })
	var d time.Duration
	var end time.Time
	for _, s := range spans {
		if s.from.Before(end) {
			s.from = end
		}
		if s.to.After(s.from) {
			d += s.to.Sub(s.from)
			end = s.to
		}
	}
	return d
}

// AddProducer implements qlogwriter.Trace.
func (s *Streams) AddProducer() qlogwriter.Recorder { return s }

// Close implements qlogwriter.Recorder; the figures stay until taken.
func (s *Streams) Close() error { return nil }

// RecordEvent implements qlogwriter.Recorder: it reads the STREAM frames of
// the packets sent and received.
func (s *Streams) RecordEvent(ev qlogwriter.Event) {
	var frames []qlog.Frame
	sent := false
	switch e := ev.(type) {
	case qlog.PacketSent:
		frames, sent = e.Frames, true
	case qlog.PacketReceived:
		frames = e.Frames
	default:
		return
	}
	now := time.Now()
	for _, f := range frames {
		if sf, ok := f.Frame.(*qlog.StreamFrame); ok && sf.Length > 0 && sf.StreamID%4 == 0 { // client-initiated bidirectional: requests
			if sent {
				s.Sent(sf.StreamID, sf.Offset, sf.Offset+sf.Length, now)
			} else {
				s.Received(sf.StreamID, sf.Offset, sf.Offset+sf.Length, now)
			}
		}
	}
}

// lookup returns stream id's record, made if the Streams records every
// stream; nil if it is not recorded. The caller holds mu.
func (s *Streams) lookupLocked(id quic.StreamID) *stream {
	st := s.streams[id]
	if st != nil || s.watched {
		return st
	}
	if len(s.streams) >= MaxStreams {
		for k := range s.streams { // forget one, any: its figure was never taken
			delete(s.streams, k)
			break
		}
	}
	st = &stream{}
	s.streams[id] = st
	return st
}

// Sent notes bytes [from, to) of stream id sent at now: new data, or data
// sent before and sent again.
func (s *Streams) Sent(id quic.StreamID, from, to int64, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.lookupLocked(id)
	if st == nil {
		return
	}
	if from < st.sentEnd { // sent before: find its first sending
		i, _ := slices.BinarySearchFunc(st.pieces, from, func(p piece, off int64) int {
			switch {
			case p.to <= off:
				return -1
			case p.from > off:
				return 1
			}
			return 0
		})
		if i < len(st.pieces) && st.pieces[i].from <= from {
			s.resent.Add(1)
			s.resentWait.Add(int64(now.Sub(st.pieces[i].at)))
			if len(st.spans) < maxSpans {
				st.spans = append(st.spans, span{st.pieces[i].at, now})
			}
		}
		from = st.sentEnd
	}
	if to > from {
		if len(st.pieces) < maxPieces {
			st.pieces = append(st.pieces, piece{from, to, now})
		}
		st.sentEnd = to
	}
}

// Received notes bytes [from, to) of stream id received at now.
func (s *Streams) Received(id quic.StreamID, from, to int64, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.lookupLocked(id)
	if st == nil || to <= st.next {
		return
	}
	if from <= st.next {
		st.next = to
		i := 0
		for ; i < len(st.ahead) && st.ahead[i].from <= st.next; i++ {
			st.next = max(st.next, st.ahead[i].to)
		}
		st.ahead = append(st.ahead[:0], st.ahead[i:]...)
	} else {
		st.ahead = insertRange(st.ahead, byteRange{from, to})
	}
	switch {
	case len(st.ahead) == 0 && !st.since.IsZero():
		if len(st.spans) < maxSpans {
			st.spans = append(st.spans, span{st.since, now})
		}
		st.since = time.Time{}
	case len(st.ahead) > 0 && st.since.IsZero():
		st.since = now
	}
}

// insertRange adds r to the sorted, apart ranges rs, merging what touches.
func insertRange(rs []byteRange, r byteRange) []byteRange {
	out := rs[:0:0]
	placed := false
	for _, x := range rs {
		switch {
		case x.to < r.from:
			out = append(out, x)
		case r.to < x.from:
			if !placed {
				out = append(out, r)
				placed = true
			}
			out = append(out, x)
		default: // they touch or overlap
			r = byteRange{min(r.from, x.from), max(r.to, x.to)}
		}
	}
	if !placed {
		out = append(out, r)
	}
	if len(out) > maxAhead {
		out = out[:maxAhead]
	}
	return out
}
