package link

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Defaults filled in by Options.normalize.
const (
	// DefaultMTU is the link's MTU in bytes when Options.MTU is zero: Ethernet's.
	DefaultMTU = 1500
	// DefaultSeed seeds the loss draws when Options.Seed is zero.
	DefaultSeed = 1
	// DefaultCongestionControl is TCP's congestion control when
	// Options.CongestionControl is empty. CUBIC is what Linux, Windows and
	// macOS servers run by default, and gVisor's CUBIC has HyStart, which
	// leaves slow start before it overflows a shallow queue; Reno has no
	// HyStart and overshoots the queue at the end of every slow start.
	DefaultCongestionControl = "cubic"
)

// Bounds on a direction's figures.
const (
	// MaxDelay bounds a one-way delay (and jitter): a geostationary hop is 280 ms.
	MaxDelay = 10 * time.Second
	// MaxRate bounds a bottleneck's rate, bits per second.
	MaxRate = 100_000_000_000
	// MinRate is the slowest rate accepted, bits per second (a 300 baud modem).
	MinRate = 300
	// MaxQueue bounds a drop-tail queue, bytes.
	MaxQueue = 1 << 30
	// MaxBurst bounds the mean length of a loss burst, packets.
	MaxBurst = 1000
)

// The stacks that can carry the link (Options.Stack).
const (
	// StackAuto is the kernel's stack where KernelSupport allows, and the
	// userspace one otherwise.
	StackAuto = "auto"
	// StackKernel is the machine's own Linux kernel: the client and the
	// server in two network namespaces of the process's own, each with a TUN
	// device on the link.
	StackKernel = "kernel"
	// StackUserspace is gVisor's netstack, in process: no privilege needed.
	StackUserspace = "userspace"
)

// Stacks lists the values of Options.Stack.
func Stacks() []string { return []string{StackAuto, StackKernel, StackUserspace} }

// userspaceCCs are the congestion controls gVisor's TCP offers.
var userspaceCCs = []string{"cubic", "reno"}

// CongestionControls lists the congestion control algorithms that stack
// offers: gVisor's cubic and reno for StackUserspace; for StackKernel those
// the kernel has loaded (cubic, reno, and bbr where its module is), which
// muxlab sets per socket, never for the host; for StackAuto, those of the
// stack it would choose. The slice is the caller's.
func CongestionControls(stack string) []string {
	if stack == StackKernel || (stack == StackAuto && KernelSupport() == nil) {
		return kernelCCs()
	}
	return append([]string(nil), userspaceCCs...)
}

// Direction describes one direction of the link: what a packet meets between
// the sender's stack and the receiver's.
type Direction struct {
	// Delay is the one-way propagation delay. Zero: none.
	Delay time.Duration
	// Jitter adds to each packet's delay a draw uniform in [0, Jitter). A
	// packet never overtakes the one before it, so jitter never reorders.
	// Zero: none.
	Jitter time.Duration
	// Rate is the bottleneck's bandwidth in bits per second: each packet
	// takes its size over Rate to serialise, and packets wait their turn.
	// Zero: unlimited (no serialisation, no queue).
	Rate int64
	// Queue is the drop-tail queue ahead of the bottleneck, in bytes: a
	// packet that would make the backlog larger is dropped. Zero: unlimited.
	// Ignored when Rate is zero (nothing ever waits).
	Queue int64
	// Loss is the probability that a packet is lost on the wire, 0 to 1. A
	// lost packet has used the bottleneck. Zero: none.
	Loss float64
	// Burst is the mean length of a run of lost packets. Above 1, losses
	// follow a Gilbert-Elliott chain (a good state that loses nothing and a
	// bad state that loses everything) whose long-run loss rate is Loss and
	// whose bad spells last Burst packets on average. Zero or 1: each packet
	// is lost independently.
	Burst float64
}

// Options configures a Network. The zero value is an unimpaired link.
type Options struct {
	// Up is the client-to-server direction.
	Up Direction
	// Down is the server-to-client direction.
	Down Direction
	// Seed seeds the loss and jitter draws, so a run repeats. Zero: DefaultSeed.
	Seed int64
	// CongestionControl is TCP's congestion control at both ends, one of
	// CongestionControls(Stack). Empty: DefaultCongestionControl.
	CongestionControl string
	// Stack is the TCP/IP stack at both ends, one of Stacks. Empty:
	// StackAuto.
	Stack string
	// MTU is the largest IP packet on the link, bytes. Zero: DefaultMTU.
	MTU int
}

// Error says that an option is out of its range. Field names the option as
// Options spells it (for example "Up.Loss").
type Error struct {
	Field string
	Value string
	Allow string
}

func (e *Error) Error() string {
	return fmt.Sprintf("link: %s %s is out of range; allowed %s", e.Field, e.Value, e.Allow)
}

// Validate checks every option against its range, as New does.
func (o Options) Validate() error { return o.normalize() }

func (o *Options) normalize() error {
	if o.Seed == 0 {
		o.Seed = DefaultSeed
	}
	if o.CongestionControl == "" {
		o.CongestionControl = DefaultCongestionControl
	}
	if o.MTU == 0 {
		o.MTU = DefaultMTU
	}
	if o.Stack == "" {
		o.Stack = StackAuto
	}
	if o.MTU < 576 || o.MTU > 65535 {
		return &Error{"MTU", fmt.Sprint(o.MTU), "576 to 65535 bytes"}
	}
	if !slices.Contains(Stacks(), o.Stack) {
		return &Error{"Stack", fmt.Sprintf("%q", o.Stack), strings.Join(Stacks(), ", ")}
	}
	if err := o.checkCongestionControl(); err != nil {
		return err
	}
	if err := o.Up.check("Up", o.MTU); err != nil {
		return err
	}
	return o.Down.check("Down", o.MTU)
}

func (d *Direction) check(name string, mtu int) error {
	switch {
	case d.Delay < 0 || d.Delay > MaxDelay:
		return &Error{name + ".Delay", d.Delay.String(), "0 to " + MaxDelay.String()}
	case d.Jitter < 0 || d.Jitter > MaxDelay:
		return &Error{name + ".Jitter", d.Jitter.String(), "0 to " + MaxDelay.String()}
	case d.Rate != 0 && (d.Rate < MinRate || d.Rate > MaxRate):
		return &Error{name + ".Rate", fmt.Sprint(d.Rate), fmt.Sprintf("0 (unlimited) or %d to %d bits per second", MinRate, int64(MaxRate))}
	case d.Queue != 0 && (d.Queue < int64(mtu) || d.Queue > MaxQueue):
		return &Error{name + ".Queue", fmt.Sprint(d.Queue), fmt.Sprintf("0 (unlimited) or one packet (%d bytes) to %d bytes", mtu, MaxQueue)}
	case math.IsNaN(d.Loss) || d.Loss < 0 || d.Loss >= 1:
		return &Error{name + ".Loss", fmt.Sprint(d.Loss), "0 to less than 1"}
	case math.IsNaN(d.Burst) || d.Burst < 0 || d.Burst > MaxBurst:
		return &Error{name + ".Burst", fmt.Sprint(d.Burst), fmt.Sprintf("0 to %d packets", MaxBurst)}
	case d.Burst > 1 && d.Loss > (1-d.Loss)*d.Burst:
		// The chain's good-to-bad probability, Loss/((1-Loss)·Burst), must
		// stay a probability.
		return &Error{name + ".Burst", fmt.Sprint(d.Burst), fmt.Sprintf("at least Loss/(1-Loss) = %.3g packets", d.Loss/(1-d.Loss))}
	}
	return nil
}

// checkCongestionControl checks CongestionControl against Stack's; with
// StackAuto, against the stack New would choose.
func (o *Options) checkCongestionControl() error {
	if ccs := CongestionControls(o.Stack); !slices.Contains(ccs, o.CongestionControl) {
		return &Error{"CongestionControl", fmt.Sprintf("%q", o.CongestionControl), fmt.Sprintf("on the %s stack: %s", StackName(o.Stack), strings.Join(ccs, ", "))}
	}
	return nil
}

// StackName names the stack stack stands for: StackAuto's choice here
// ("kernel (auto)" or "userspace (auto)"), or stack itself.
func StackName(stack string) string {
	if stack != StackAuto {
		return stack
	}
	if KernelSupport() == nil {
		return StackKernel + " (auto)"
	}
	return StackUserspace + " (auto)"
}

// RTT is the round trip the link adds: both one-way delays.
func (o Options) RTT() time.Duration { return o.Up.Delay + o.Down.Delay }
