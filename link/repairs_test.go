package link

import (
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// segmentBytes makes an IPv4 TCP segment with payload bytes of data, from
// the client's port going up and to it coming down.
func segmentBytes(up bool, port uint16, seq uint32, payload int, flags header.TCPFlags) []byte {
	b := make([]byte, header.IPv4MinimumSize+header.TCPMinimumSize+payload)
	header.IPv4(b).Encode(&header.IPv4Fields{
		TotalLength: uint16(len(b)), Protocol: uint8(header.TCPProtocolNumber), TTL: 64,
		SrcAddr: tcpip.AddrFrom4(ClientIP.As4()), DstAddr: tcpip.AddrFrom4(ServerIP.As4()),
	})
	src, dst := port, uint16(443)
	if !up {
		src, dst = dst, src
	}
	header.TCP(b[header.IPv4MinimumSize:]).Encode(&header.TCPFields{
		SrcPort: src, DstPort: dst, SeqNum: seq, DataOffset: header.TCPMinimumSize, Flags: flags | header.TCPFlagAck, WindowSize: 65535,
	})
	return b
}

func TestRepairsSpanFromDueToRetransmission(t *testing.T) {
	r := newRepairs()
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	// Connection 40000 loses two segments coming down and one going up;
	// the hole closes only when all three are sent again.
	r.lost(segmentBytes(false, 40000, 1000, 1000, 0), false, at(10))
	r.lost(segmentBytes(false, 40000, 3000, 1000, 0), false, at(12))
	r.lost(segmentBytes(true, 40000, 500, 100, 0), true, at(20))
	r.lost(segmentBytes(false, 40000, 9000, 0, 0), false, at(21)) // a pure ACK: never sent again, no hole
	if !r.anyOpen() {
		t.Fatal("no hole open after three lost segments")
	}
	r.delivered(segmentBytes(false, 40000, 2000, 1000, 0), false, at(30)) // a later segment: repairs nothing
	r.delivered(segmentBytes(false, 40000, 1000, 500, 0), false, at(60))  // half of the first, sent again in two
	r.delivered(segmentBytes(false, 40000, 1500, 500, 0), false, at(61))
	r.delivered(segmentBytes(false, 41000, 3000, 1000, 0), false, at(62)) // another connection's: repairs nothing here
	r.delivered(segmentBytes(true, 40000, 500, 100, 0), true, at(70))
	if got := r.held(40000, at(0), at(1000)); got != 0 {
		t.Fatalf("held %v with a hole still open, want 0 (nothing it read came after the hole)", got)
	}
	r.delivered(segmentBytes(false, 40000, 3000, 1000, 0), false, at(90))
	if r.anyOpen() {
		t.Fatal("a hole is still open after every lost segment was delivered again")
	}
	for _, c := range []struct {
		from, to int
		want     time.Duration
	}{
		{0, 1000, 80 * time.Millisecond}, // the whole span, 10 to 90
		{50, 70, 20 * time.Millisecond},  // inside it
		{0, 10, 0},                       // before it
		{90, 200, 0},                     // after it
		{80, 200, 10 * time.Millisecond}, // its end
	} {
		if got := r.held(40000, at(c.from), at(c.to)); got != c.want {
			t.Errorf("held from %d to %d ms = %v, want %v", c.from, c.to, got, c.want)
		}
	}
	if got := r.held(41000, at(0), at(1000)); got != 0 {
		t.Errorf("a connection that lost nothing held %v", got)
	}
}

func TestRepairsNewConnectionOnTheSamePort(t *testing.T) {
	r := newRepairs()
	t0 := time.Unix(1000, 0)
	r.lost(segmentBytes(false, 40000, 1000, 1000, 0), false, t0)
	// The connection ends with its hole open (reset); a new one on the same
	// port must not inherit it, and a SYN sent again repairs its own hole.
	r.delivered(segmentBytes(true, 40000, 7, 0, header.TCPFlagSyn), true, t0.Add(time.Second))
	if r.anyOpen() {
		t.Fatal("the old connection's hole is still open after a new SYN on its port")
	}
	r.lost(segmentBytes(true, 40000, 50, 0, header.TCPFlagSyn), true, t0.Add(2*time.Second))
	r.delivered(segmentBytes(true, 40000, 50, 0, header.TCPFlagSyn), true, t0.Add(3*time.Second))
	if got := r.held(40000, t0, t0.Add(time.Hour)); got != time.Second {
		t.Fatalf("a lost SYN sent again held %v, want 1s", got)
	}
}

func TestRepairsBounded(t *testing.T) {
	r := newRepairs()
	t0 := time.Unix(1000, 0)
	for i := range 3 * maxSpans {
		port := uint16(1 + i%2000)
		at := t0.Add(time.Duration(i) * time.Millisecond)
		r.lost(segmentBytes(false, port, uint32(i), 10, 0), false, at)
		r.delivered(segmentBytes(false, port, uint32(i), 10, 0), false, at.Add(time.Millisecond))
	}
	if r.spans > maxSpans {
		t.Fatalf("kept %d spans, bound %d", r.spans, maxSpans)
	}
	n := 0
	for _, f := range r.flows {
		n += len(f.done)
	}
	if n != r.spans {
		t.Fatalf("the count of spans says %d, the flows hold %d", r.spans, n)
	}
}

// TestLossHeldOverTheLink sends data down a lossy link on each stack: the
// connection's waits on retransmissions are measured, none on a link that
// loses nothing, and an address that is not the link's client is unknown.
func TestLossHeldOverTheLink(t *testing.T) {
	forStacks(t, func(t *testing.T) {
		for _, loss := range []float64{0, 0.05} {
			n := newNet(t, Options{Down: Direction{Delay: 5 * time.Millisecond, Loss: loss}, Up: Direction{Delay: 5 * time.Millisecond}})
			addr := serve(t, n, func(c net.Conn) {
				defer c.Close()
				c.Write(make([]byte, 1<<20))
			})
			c := dial(t, n, addr)
			start := time.Now()
			if _, err := io.Copy(io.Discard, c); err != nil {
				t.Fatal(err)
			}
			end := time.Now()
			local := netip.MustParseAddrPort(c.LocalAddr().String())
			held, ok := n.LossHeld(local, start, end)
			st := n.Stats()
			switch {
			case !ok:
				t.Fatalf("loss %v: the link does not know its own client's connection %v", loss, local)
			case loss == 0 && held != 0:
				t.Fatalf("a link that lost nothing says the connection waited %v on retransmissions", held)
			case loss > 0 && st.Down.DroppedLoss == 0:
				t.Fatalf("loss %v: the link dropped nothing in 1 MiB", loss)
			case loss > 0 && held <= 0:
				t.Fatalf("loss %v: %d packets lost, yet no wait on a retransmission measured", loss, st.Down.DroppedLoss)
			case held > end.Sub(start):
				t.Fatalf("held %v, longer than the transfer's %v", held, end.Sub(start))
			}
			t.Logf("loss %v: %d lost, held %v of %v", loss, st.Down.DroppedLoss, held, end.Sub(start))
		}
		n := newNet(t, Options{})
		if _, ok := n.LossHeld(netip.MustParseAddrPort("127.0.0.1:40000"), time.Now(), time.Now().Add(time.Second)); ok {
			t.Fatal("a loopback address is said to be the link's client")
		}
	})
}
