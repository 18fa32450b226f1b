package link

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Counters are one direction's packet counts since the link was made.
type Counters struct {
	// Packets and Bytes count what the sender put on the link (IP packets,
	// headers included), delivered or not.
	Packets int64
	Bytes   int64
	// Delivered counts packets that reached the receiver.
	Delivered int64
	// DroppedLoss counts packets lost on the wire (random or burst loss).
	DroppedLoss int64
	// DroppedQueue counts packets that found the drop-tail queue full.
	DroppedQueue int64
	// DroppedDevice counts packets the sender's own network device dropped
	// before the link saw them (the kernel stack's TUN queue overflowing):
	// not in Packets, and never the link model's decision, so a figure
	// measured with any is not the configured network's.
	DroppedDevice int64
}

func (c Counters) sub(o Counters) Counters {
	return Counters{
		Packets: c.Packets - o.Packets, Bytes: c.Bytes - o.Bytes, Delivered: c.Delivered - o.Delivered,
		DroppedLoss: c.DroppedLoss - o.DroppedLoss, DroppedQueue: c.DroppedQueue - o.DroppedQueue,
		DroppedDevice: c.DroppedDevice - o.DroppedDevice,
	}
}

// InFlight is the packets sent but neither delivered nor dropped yet.
func (c Counters) InFlight() int64 {
	return c.Packets - c.Delivered - c.DroppedLoss - c.DroppedQueue
}

// TCP is what a stack's TCP counted.
type TCP struct {
	// Segments sent, and retransmitted among them.
	Segments, Retransmits int64
	// Timeouts counts retransmission timer expiries (RTOs): the costly kind
	// of recovery, where the connection waited out the timer.
	Timeouts int64
	// FastRetransmits counts retransmissions after duplicate ACKs or SACK.
	FastRetransmits int64
	// LossProbes counts tail-loss probes sent (the kernel's TCPLossProbes);
	// gVisor's TCP does not count them, so the userspace stack leaves it 0.
	LossProbes int64
	// ProbeRecoveries counts losses repaired by a tail-loss probe alone
	// (the kernel's TCPLossProbeRecovery, gVisor's TLPRecovery).
	ProbeRecoveries int64
	// SpuriousRecoveries counts recoveries undone as spurious (the kernel's
	// TCPSpuriousRTOs, gVisor's SpuriousRecovery).
	SpuriousRecoveries int64
	// Connections counts connections opened (actively on the client side,
	// passively on the server side).
	Connections int64
}

func (t TCP) sub(o TCP) TCP {
	return TCP{
		Segments: t.Segments - o.Segments, Retransmits: t.Retransmits - o.Retransmits, Timeouts: t.Timeouts - o.Timeouts,
		FastRetransmits: t.FastRetransmits - o.FastRetransmits, LossProbes: t.LossProbes - o.LossProbes,
		ProbeRecoveries: t.ProbeRecoveries - o.ProbeRecoveries, SpuriousRecoveries: t.SpuriousRecoveries - o.SpuriousRecoveries,
		Connections: t.Connections - o.Connections,
	}
}

// UDP is what a stack's UDP counted.
type UDP struct {
	// Sent counts datagrams sent.
	Sent int64
	// BufferDrops counts datagrams that arrived and were dropped because
	// the receiving socket's buffer was full: lost at the end host, not on
	// the link.
	BufferDrops int64
}

func (u UDP) sub(o UDP) UDP {
	return UDP{Sent: u.Sent - o.Sent, BufferDrops: u.BufferDrops - o.BufferDrops}
}

// Stats is the link's truth: counters since the link was made, or, after
// Sub, over an interval.
type Stats struct {
	// Up is client to server, Down server to client.
	Up, Down Counters
	// Client and Server are the two stacks' TCP counters; a retransmission
	// is counted by the stack that sent it.
	Client, Server TCP
	// ClientUDP and ServerUDP are the two stacks' UDP counters.
	ClientUDP, ServerUDP UDP
	// UpLate and DownLate hold, in microseconds, how long after its due time
	// each packet was delivered. Go's timers and a busy machine make the
	// emulator late; a lateness that is large against the delay means the
	// figures measured through the link are not to be trusted.
	UpLate, DownLate *hdrhistogram.Snapshot
}

// Stats returns the link's counters now.
func (n *Network) Stats() Stats {
	var s Stats
	s.Up, s.UpLate = n.up.snapshot()
	s.Down, s.DownLate = n.down.snapshot()
	s.Up.DroppedDevice, s.Down.DroppedDevice = n.stk.deviceDrops()
	s.Client, s.Server = n.stk.tcp()
	s.ClientUDP, s.ServerUDP = n.stk.udp()
	return s
}

// Sub returns what happened between prev and s.
func (s Stats) Sub(prev Stats) Stats {
	return Stats{
		Up: s.Up.sub(prev.Up), Down: s.Down.sub(prev.Down),
		Client: s.Client.sub(prev.Client), Server: s.Server.sub(prev.Server),
		ClientUDP: s.ClientUDP.sub(prev.ClientUDP), ServerUDP: s.ServerUDP.sub(prev.ServerUDP),
		UpLate: subHistogram(s.UpLate, prev.UpLate), DownLate: subHistogram(s.DownLate, prev.DownLate),
	}
}

// Retransmits is both stacks' retransmitted segments.
func (s Stats) Retransmits() int64 { return s.Client.Retransmits + s.Server.Retransmits }

// Timeouts is both stacks' retransmission timeouts.
func (s Stats) Timeouts() int64 { return s.Client.Timeouts + s.Server.Timeouts }

// LossProbes is both stacks' tail-loss probes (zero on the userspace stack,
// which does not count them).
func (s Stats) LossProbes() int64 { return s.Client.LossProbes + s.Server.LossProbes }

// DroppedDevice is what both senders' devices dropped before the link saw
// it: see Counters.DroppedDevice.
func (s Stats) DroppedDevice() int64 { return s.Up.DroppedDevice + s.Down.DroppedDevice }

// Late returns the p99 and the largest lateness of packets delivered in
// either direction.
func (s Stats) Late() (p99, largest time.Duration) {
	h := newLateHistogram()
	for _, snap := range []*hdrhistogram.Snapshot{s.UpLate, s.DownLate} {
		if snap != nil {
			h.Merge(hdrhistogram.Import(snap))
		}
	}
	if h.TotalCount() == 0 {
		return 0, 0
	}
	return time.Duration(h.ValueAtQuantile(99)) * time.Microsecond, time.Duration(h.Max()) * time.Microsecond
}

// Lateness past which a link's figures are flagged: the emulator fell behind.
const (
	// LateFloor is lateness that is always tolerated: Go's timers alone
	// deliver up to about a millisecond late.
	LateFloor = 2 * time.Millisecond
	// LateShare is the share of the round trip that lateness may add.
	LateShare = 0.10
)

// Behind reports whether the link fell behind its schedule: the p99 of
// lateness exceeds LateFloor and LateShare of the round trip, whichever is
// larger. Figures measured over such a link carry more delay than configured.
func (s Stats) Behind(rtt time.Duration) bool {
	p99, _ := s.Late()
	return p99 > max(LateFloor, time.Duration(float64(rtt)*LateShare))
}

func newLateHistogram() *hdrhistogram.Histogram {
	// 0 µs to 10 minutes, three significant figures.
	return hdrhistogram.New(0, int64(10*time.Minute/time.Microsecond), 3)
}

// subHistogram returns a histogram of the values recorded in a but not in b,
// where a was exported from the same histogram later than b.
func subHistogram(a, b *hdrhistogram.Snapshot) *hdrhistogram.Snapshot {
	if a == nil {
		return nil
	}
	out := *a
	out.Counts = append([]int64(nil), a.Counts...)
	if b != nil && len(b.Counts) == len(a.Counts) {
		for i := range out.Counts {
			out.Counts[i] -= b.Counts[i]
		}
	}
	return &out
}
