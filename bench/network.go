package bench

import (
	"math"
	"time"

	"muxlab/link"
	"muxlab/results"
)

// responseOverhead is about what a response adds to its body on the wire:
// the demo server's status line and headers (HTTP/2's compressed headers
// and frame headers are smaller; the difference is under 2% of a 10 KiB
// object).
const responseOverhead = 200

// ipOverhead is the share of a full packet that carries payload: 1448 bytes
// of TCP payload (with timestamps) in a 1500-byte IP packet.
const ipOverhead = 1500.0 / 1448.0

// networkOf describes the network of a run for its result.
func networkOf(o *Options) results.Network {
	if o.Link == nil && !o.Embedded { // another server: the path to it is what it is
		return results.Network{Profile: results.ProfileNone, Source: "no emulation: the real network path to the server, not described by muxlab"}
	}
	if o.Link == nil {
		p, _ := link.LookupProfile("loopback")
		return results.Network{Profile: p.Name, Source: p.Source}
	}
	lo := o.Link.Options()
	n := results.Network{
		Profile: o.Profile, Emulated: true,
		RTTMS:    float64(lo.RTT()) / float64(time.Millisecond),
		JitterMS: float64(max(lo.Up.Jitter, lo.Down.Jitter)) / float64(time.Millisecond),
		DownBPS:  lo.Down.Rate, UpBPS: lo.Up.Rate, Loss: lo.Down.Loss, LossBurst: lo.Down.Burst,
		QueueBytes: lo.Down.Queue, UpQueueBytes: lo.Up.Queue,
		CongestionControl: lo.CongestionControl, Seed: lo.Seed,
	}
	n.Stack, n.StackWhy = o.Link.Stack()
	if n.Profile == "" {
		n.Profile = "custom"
	}
	if p, err := link.LookupProfile(n.Profile); err == nil {
		n.Source = p.Source
	}
	return n
}

// userspaceLossNote goes beside every lossy run on the userspace stack: its
// TCP is gVisor's, whose recovery differs from Linux's. The figures are
// make fidelity's (docs/FIDELITY.md).
const userspaceLossNote = "this run's TCP is gVisor's userspace stack, which under loss is not Linux's: on the same link " +
	"(40 ms, 1 and 3% loss; docs/FIDELITY.md) it made HTTP/2's one connection 28 to 52% slower than the kernel's TCP and " +
	"HTTP/1.1's six connections 7 to 13% faster, so h2/h1 came out 1.3 to 1.6 times what Linux gives; " +
	"run as root (--stack kernel) for the kernel's figures"

// stackNotes are the run's notes about its stack.
func stackNotes(o *Options) []string {
	if o.Link == nil {
		return nil
	}
	lo := o.Link.Options()
	if lo.Stack != link.StackUserspace || (lo.Up.Loss == 0 && lo.Down.Loss == 0) {
		return nil
	}
	return []string{userspaceLossNote}
}

// measure runs f as the measured part of a turn (see measure), with the
// link's truth around it when the run crosses an emulated link.
func (r *runner) measure(rd *results.Round, f func()) {
	l := r.opts.Link
	if l == nil {
		measure(rd, f)
		return
	}
	before := l.Stats()
	measure(rd, f)
	stack, _ := l.Stack()
	rd.Link = linkRound(l.Stats().Sub(before), l.Options().RTT(), stack == link.StackKernel)
}

// linkRound turns the link's counts over a turn into the result's.
func linkRound(st link.Stats, rtt time.Duration, kernel bool) *results.Link {
	p99, largest := st.Late()
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	dir := func(c link.Counters) results.LinkDirection {
		return results.LinkDirection{Packets: c.Packets, Bytes: c.Bytes, DroppedLoss: c.DroppedLoss, DroppedQueue: c.DroppedQueue}
	}
	return &results.Link{
		Packets: st.Up.Packets + st.Down.Packets, Bytes: st.Up.Bytes + st.Down.Bytes,
		DroppedLoss: st.Up.DroppedLoss + st.Down.DroppedLoss, DroppedQueue: st.Up.DroppedQueue + st.Down.DroppedQueue,
		Retransmits: st.Retransmits(), Timeouts: st.Timeouts(),
		LossProbes: st.LossProbes(), ProbesCounted: kernel,
		DroppedDevice: st.DroppedDevice(), UDPBufferDrops: st.ClientUDP.BufferDrops + st.ServerUDP.BufferDrops,
		LateP99MS: ms(p99), LateMaxMS: ms(largest), Behind: st.Behind(rtt),
		Up: dir(st.Up), Down: dir(st.Down),
	}
}

// objectTime is how long one object of size bytes takes to cross a
// bottleneck of rate bits per second, headers included; zero when the
// rate is unlimited.
func objectTime(size int64, rate int64) time.Duration {
	if rate <= 0 {
		return 0
	}
	bits := float64(size+responseOverhead) * ipOverhead * 8
	return time.Duration(bits / float64(rate) * float64(time.Second))
}

// The loss model's constants.
const (
	// mss is a full segment's payload on a 1500-byte link (TCP with
	// timestamps; QUIC's packets carry about as much).
	mss = 1448
	// segmentsPerAck is how many segments a receiver acknowledges at once
	// (delayed ACKs), for the packets of a turn.
	segmentsPerAck = 2
	// padhyeB is b in Padhye's formula, the segments an ACK covers: 1, not
	// 2, as Linux acknowledges every segment around a loss (quick ACKs)
	// and its CUBIC stays in the Reno-friendly region at a page's windows.
	// With 1 the kernel's one HTTP/2 connection at 40 ms measured 11 to 24%
	// below the model at 1 and 3% loss (docs/FIDELITY.md); with 2, 36% below.
	padhyeB = 1
	// minRTO is Linux's floor on TCP's retransmission timeout (and
	// gVisor's); quicAckDelay is the max_ack_delay QUIC adds to its probe
	// timeout (RFC 9002's default, quic-go's).
	minRTO       = 200 * time.Millisecond
	quicAckDelay = 25 * time.Millisecond
)

// lossRate is what one congestion-controlled connection carries, bytes
// per second, over a round trip rtt with independent packet loss p: Padhye,
// Firoiu, Towsley and Kurose (SIGCOMM 1998), whose first term is Mathis'
// square-root law and whose second the time spent in timeouts of rto.
func lossRate(p float64, rtt, rto time.Duration) float64 {
	b := float64(padhyeB)
	den := rtt.Seconds()*math.Sqrt(2*b*p/3) + rto.Seconds()*min(1, 3*math.Sqrt(3*b*p/8))*p*(1+32*p*p)
	return mss / den
}

// lossModel is what loss adds to a page: recovery, the expected time its
// turns spend repairing a lost packet (each turn with a loss among its
// packets waits about one more round trip, as SACK, RACK or a tail-loss
// probe repairs it), and lossTime, the time the busiest connection's bytes
// take at its loss-limited rate (lossRate).
func (c *contender) lossModel(sc *results.Scenario, net *results.Network, requested, turns int) (recovery, lossTime time.Duration) {
	p := net.Loss
	_, size := sc.ObjectMeans()
	objBytes := float64(size+responseOverhead) * ipOverhead
	// A turn's packets: the request, its object's segments, and their ACKs.
	segs := math.Ceil(objBytes / mss)
	perTurn := 1 + segs + math.Ceil(segs/segmentsPerAck)
	hit := 1 - math.Pow(1-p, perTurn)
	recovery = time.Duration(float64(turns) * hit * float64(c.rtt))
	rto := c.rtt + minRTO
	conns := 1
	switch c.wire {
	case wireQUIC:
		rto = c.rtt + quicAckDelay // QUIC probes after a PTO, not Linux's 200 ms floor
	case wirePool:
		conns = max(1, min(c.n, requested))
	}
	perConn := math.Ceil(float64(requested)/float64(conns)) * objBytes
	lossTime = time.Duration(perConn / lossRate(p, c.rtt, rto) * float64(time.Second))
	return recovery, lossTime
}
