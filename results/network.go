package results

import (
	"fmt"
	"strconv"
)

// Network is the network a run crossed: an emulated link's conditions, or
// the machine's own (profile "loopback", Emulated false, nothing else set).
type Network struct {
	// Profile names the profile the conditions came from ("4g"), or
	// "custom" when flags changed them.
	Profile  string `json:"profile"`
	Emulated bool   `json:"emulated"`
	// RTTMS is the round trip the link adds, milliseconds.
	RTTMS float64 `json:"rtt_ms"`
	// MeasuredRTTMS is the round trip to the server the contenders'
	// probes measured before the rounds (the least of them),
	// milliseconds: on a path muxlab does not emulate, the one figure of
	// it there is. Zero: not measured.
	MeasuredRTTMS float64 `json:"measured_rtt_ms,omitempty"`
	// JitterMS is the most a packet's one-way delay is drawn above its
	// delay, each way, milliseconds (zero: none).
	JitterMS float64 `json:"jitter_ms,omitempty"`
	// DownBPS and UpBPS are the bottleneck rates, bits per second (zero:
	// unlimited).
	DownBPS int64 `json:"down_bps"`
	UpBPS   int64 `json:"up_bps"`
	// Loss is each direction's loss rate, 0 to 1; LossBurst the mean length
	// of a loss burst in packets (zero or 1: independent losses).
	Loss      float64 `json:"loss"`
	LossBurst float64 `json:"loss_burst,omitempty"`
	// QueueBytes and UpQueueBytes are the drop-tail queues ahead of the
	// downlink and uplink bottlenecks (zero: unlimited).
	QueueBytes        int64  `json:"queue_bytes"`
	UpQueueBytes      int64  `json:"up_queue_bytes"`
	CongestionControl string `json:"congestion_control,omitempty"`
	Seed              int64  `json:"seed,omitempty"`
	// Stack names the TCP/IP stack at both ends of the link: "kernel" (the
	// machine's Linux, in namespaces of muxlab's own) or "userspace"
	// (gVisor's netstack); StackWhy says why ("chosen", or what decided
	// for --stack auto). Empty in files from before there was a choice:
	// userspace.
	Stack    string `json:"stack,omitempty"`
	StackWhy string `json:"stack_why,omitempty"`
	// Source says where the profile's figures come from.
	Source string `json:"source,omitempty"`
}

// Link is an emulated link's truth over a round's measured part: what
// crossed it, what it dropped, what TCP did about it, and how late the
// emulator delivered against its schedule.
type Link struct {
	// Packets and Bytes count what was put on the link, both ways (IP
	// packets, headers included), delivered or dropped.
	Packets int64 `json:"packets"`
	Bytes   int64 `json:"bytes"`
	// DroppedLoss counts packets lost on the wire; DroppedQueue packets
	// that found the bottleneck's queue full.
	DroppedLoss  int64 `json:"dropped_loss"`
	DroppedQueue int64 `json:"dropped_queue"`
	// Retransmits counts TCP segments sent again, by both stacks;
	// Timeouts the retransmission timer expiries among the recoveries.
	Retransmits int64 `json:"retransmits"`
	Timeouts    int64 `json:"timeouts"`
	// LossProbes counts TCP tail-loss probes, by both stacks; only the
	// kernel's TCP counts them (ProbesCounted).
	LossProbes    int64 `json:"loss_probes,omitempty"`
	ProbesCounted bool  `json:"probes_counted,omitempty"`
	// DroppedDevice counts packets a sender's own device dropped before
	// the link saw them, and UDPBufferDrops datagrams dropped at a full
	// receiving socket: losses the link model did not decide, so a round
	// with any measured more loss than configured.
	DroppedDevice  int64 `json:"dropped_device,omitempty"`
	UDPBufferDrops int64 `json:"udp_buffer_drops,omitempty"`
	// LateP99MS and LateMaxMS say how late, in milliseconds, packets were
	// delivered against their schedule.
	LateP99MS float64 `json:"late_p99_ms"`
	LateMaxMS float64 `json:"late_max_ms"`
	// Behind says the emulator fell behind: lateness was large against the
	// round trip, so the round's figures include delay nobody configured
	// and are not to be trusted as the network's.
	Behind bool `json:"behind,omitempty"`
	// Up and Down split the counts by direction.
	Up   LinkDirection `json:"up"`
	Down LinkDirection `json:"down"`
}

// LinkDirection is one direction's counts.
type LinkDirection struct {
	Packets      int64 `json:"packets"`
	Bytes        int64 `json:"bytes"`
	DroppedLoss  int64 `json:"dropped_loss"`
	DroppedQueue int64 `json:"dropped_queue"`
}

// Add adds o's counts to l's; lateness keeps the larger, Behind either.
func (l *Link) Add(o *Link) {
	l.Packets += o.Packets
	l.Bytes += o.Bytes
	l.DroppedLoss += o.DroppedLoss
	l.DroppedQueue += o.DroppedQueue
	l.Retransmits += o.Retransmits
	l.Timeouts += o.Timeouts
	l.LossProbes += o.LossProbes
	l.ProbesCounted = l.ProbesCounted || o.ProbesCounted
	l.DroppedDevice += o.DroppedDevice
	l.UDPBufferDrops += o.UDPBufferDrops
	l.LateP99MS = max(l.LateP99MS, o.LateP99MS)
	l.LateMaxMS = max(l.LateMaxMS, o.LateMaxMS)
	l.Behind = l.Behind || o.Behind
	for _, d := range []struct{ to, from *LinkDirection }{{&l.Up, &o.Up}, {&l.Down, &o.Down}} {
		d.to.Packets += d.from.Packets
		d.to.Bytes += d.from.Bytes
		d.to.DroppedLoss += d.from.DroppedLoss
		d.to.DroppedQueue += d.from.DroppedQueue
	}
}

// Describe says in one line what the network was.
func (n Network) Describe() string {
	if !n.Emulated {
		if n.Profile == ProfileNone {
			s := "none (no emulation: the real path to the server"
			if n.MeasuredRTTMS > 0 {
				s += fmt.Sprintf(", a round trip of %s ms measured", strconv.FormatFloat(n.MeasuredRTTMS, 'f', 2, 64))
			}
			return s + ")"
		}
		return n.Profile + " (no emulation: the machine's own network)"
	}
	s := fmt.Sprintf("%s (emulated: rtt %s ms, down %s, up %s, loss %s%%", n.Profile,
		strconv.FormatFloat(n.RTTMS, 'f', -1, 64), FormatRate(n.DownBPS), FormatRate(n.UpBPS),
		strconv.FormatFloat(n.Loss*100, 'f', -1, 64))
	if n.JitterMS > 0 {
		s += fmt.Sprintf(", jitter up to %s ms", strconv.FormatFloat(n.JitterMS, 'f', -1, 64))
	}
	if n.LossBurst > 1 {
		s += fmt.Sprintf(" in bursts of %g", n.LossBurst)
	}
	if n.QueueBytes > 0 {
		s += fmt.Sprintf(", queue %d bytes", n.QueueBytes)
	}
	s += fmt.Sprintf(", %s, seed %d", n.CongestionControl, n.Seed)
	if n.Stack != "" {
		s += ", " + n.Stack + " stack"
	}
	return s + ")"
}

// ProfileNone names the network of a run against another server with no
// emulated link: the real path to it, whatever it is.
const ProfileNone = "none"

// Unplanned is the count of packets lost where the link model did not
// decide it (a device's queue, a full socket buffer): see DroppedDevice.
func (l *Link) Unplanned() int64 { return l.DroppedDevice + l.UDPBufferDrops }

// FormatRate writes bits per second: "10Mbit/s", "384kbit/s", "unlimited".
func FormatRate(bps int64) string {
	switch {
	case bps <= 0:
		return "unlimited"
	case bps >= 1_000_000_000 && bps%1_000_000_000 == 0:
		return fmt.Sprintf("%dGbit/s", bps/1_000_000_000)
	case bps >= 1_000_000:
		return strconv.FormatFloat(float64(bps)/1e6, 'f', -1, 64) + "Mbit/s"
	case bps >= 1_000:
		return strconv.FormatFloat(float64(bps)/1e3, 'f', -1, 64) + "kbit/s"
	}
	return fmt.Sprintf("%dbit/s", bps)
}
