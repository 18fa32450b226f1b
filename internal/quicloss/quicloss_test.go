package quicloss

import (
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/qlog"
)

var t0 = time.Unix(1000, 0)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// A received stream's wait runs from the first data beyond a hole to the
// data that fills it; data of a stream not watched, and data received
// twice, change nothing.
func TestReceivedHoles(t *testing.T) {
	s := New(true)
	const id, other quic.StreamID = 0, 4
	s.Watch(id)
	s.Received(id, 0, 1000, at(0))
	s.Received(id, 2000, 3000, at(10)) // 1000-2000 lost: a hole from here
	s.Received(id, 4000, 5000, at(11)) // and 3000-4000
	s.Received(other, 0, 100, at(12))  // not watched
	s.Received(id, 0, 1000, at(13))    // received twice
	s.Received(id, 1000, 2000, at(50)) // the first hole filled; the second still open
	s.Received(id, 3000, 3500, at(60)) // half of the second
	s.Received(id, 3500, 4000, at(70)) // all filled
	s.Received(id, 5000, 6000, at(80)) // in order: no hole
	if got := s.Take(id, at(90)); got != 60*time.Millisecond {
		t.Fatalf("held %v, want 60ms (from 10 to 70 ms)", got)
	}
	if got := s.Take(id, at(90)); got != 0 {
		t.Fatalf("a stream taken twice held %v", got)
	}
	// A stream that ends with a hole open counts it until its end.
	s.Watch(other)
	s.Received(other, 500, 600, at(100))
	if got := s.Take(other, at(130)); got != 30*time.Millisecond {
		t.Fatalf("held %v with a hole open at the end, want 30ms", got)
	}
}

// Data sent again waited from its first sending; sent again twice, the
// overlap counts once; sent again with new data after it, the new data is
// new.
func TestSentAgain(t *testing.T) {
	s := New(false)
	const id quic.StreamID = 8
	s.Sent(id, 0, 100, at(0))
	s.Sent(id, 100, 1300, at(1))
	s.Sent(id, 1300, 2500, at(2))
	s.Sent(id, 100, 1300, at(40))  // the second piece again: 39 ms
	s.Sent(id, 100, 1300, at(120)) // and again (lost twice): from 1 to 120 in all
	s.Sent(id, 2500, 2600, at(121))
	if got := s.Take(id, at(200)); got != 119*time.Millisecond {
		t.Fatalf("held %v, want 119ms (from 1 to 120 ms)", got)
	}
	if n, wait := s.Resent(); n != 2 || wait != 39*time.Millisecond+119*time.Millisecond {
		t.Fatalf("resent %d pieces, %v in all; want 2, 158ms (39 ms and 119 ms from their first sending)", n, wait)
	}
	// A response whose one packet is lost and sent again as a probe: no
	// hole at the client, but the server sees the sending again.
	s.Sent(12, 0, 500, at(300))
	s.Sent(12, 0, 500, at(420))
	if got := s.Take(12, at(500)); got != 120*time.Millisecond {
		t.Fatalf("a lone packet sent again: held %v, want 120ms", got)
	}
}

// The trace reads STREAM frames of request streams from qlog's events,
// sent and received, and nothing else.
func TestRecordEvent(t *testing.T) {
	s := New(false)
	frame := func(id quic.StreamID, off, n int64) qlog.Frame {
		return qlog.Frame{Frame: &qlog.StreamFrame{StreamID: id, Offset: off, Length: n}}
	}
	s.RecordEvent(qlog.PacketSent{Frames: []qlog.Frame{frame(0, 0, 100), frame(3, 0, 10)}})
	s.RecordEvent(qlog.PacketReceived{Frames: []qlog.Frame{frame(4, 50, 10)}})
	s.RecordEvent(qlog.PacketLost{})
	s.mu.Lock()
	_, sent := s.streams[0]
	_, uni := s.streams[3]
	rcv := s.streams[4]
	s.mu.Unlock()
	if !sent || uni || rcv == nil || rcv.since.IsZero() {
		t.Fatalf("streams recorded: request sent %v, unidirectional %v, received with a hole %+v", sent, uni, rcv)
	}
}

func TestBounded(t *testing.T) {
	s := New(false)
	for i := range 2 * MaxStreams {
		s.Sent(quic.StreamID(4*i), 0, 10, at(i))
	}
	if n := len(s.streams); n > MaxStreams {
		t.Fatalf("%d streams kept, bound %d", n, MaxStreams)
	}
	var rs []byteRange
	for _, r := range []byteRange{{50, 60}, {10, 20}, {30, 40}, {20, 30}, {70, 80}, {55, 75}} {
		rs = insertRange(rs, r)
	}
	if want := []byteRange{{10, 40}, {50, 80}}; len(rs) != 2 || rs[0] != want[0] || rs[1] != want[1] {
		t.Fatalf("ranges %v, want %v", rs, want)
	}
	rs = nil
	for i := range 2 * maxAhead {
		rs = insertRange(rs, byteRange{int64(10 * i), int64(10*i + 5)})
	}
	if len(rs) > maxAhead {
		t.Fatalf("%d ranges kept, bound %d", len(rs), maxAhead)
	}
}
