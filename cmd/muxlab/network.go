package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"muxlab/bench"
	"muxlab/link"
	"muxlab/mux"
	"muxlab/results"
)

// netFlags are the flags of the network between muxlab and the server.
type netFlags struct {
	profile   string
	rtt       time.Duration
	jitter    time.Duration
	bandwidth rateValue
	uplink    rateValue
	loss      lossValue
	burst     float64
	queue     sizeValue
	seed      int64
	cc        string
	stack     string
}

func (f *netFlags) define(fs *pflag.FlagSet) {
	fs.StringVar(&f.profile, "net", "", "network profile between muxlab and the server (see --list; loopback: no emulation); default: the scenario's")
	fs.DurationVar(&f.rtt, "rtt", 0, "emulated round trip, e.g. 40ms (default: the profile's, --net)")
	fs.DurationVar(&f.jitter, "jitter", 0, "emulated jitter: extra one-way delay drawn per packet up to this, each way (never reorders)")
	fs.Var(&f.bandwidth, "bandwidth", "emulated bottleneck rate both ways, e.g. 10Mbit/s or unlimited (default: the profile's, --net)")
	fs.Var(&f.uplink, "uplink", "emulated uplink rate, when it differs from --bandwidth (default: the profile's)")
	fs.Var(&f.loss, "loss", "emulated packet loss each way, e.g. 2% (default: the profile's)")
	for _, name := range []string{"bandwidth", "uplink", "loss"} {
		fs.Lookup(name).DefValue = "" // the profile's, not the zero value: help shows no default of its own
	}
	fs.Float64Var(&f.burst, "loss-burst", 0, "mean length of a loss burst in packets (Gilbert-Elliott); 0 or 1: independent losses")
	fs.Var(&f.queue, "queue", "bottleneck queue each way, e.g. 64KiB (default: 100 ms at the rate)")
	fs.Int64Var(&f.seed, "seed", link.DefaultSeed, "seed of the emulated loss and jitter: the same seed loses the same packets")
	fs.StringVar(&f.cc, "congestion-control", link.DefaultCongestionControl, "TCP congestion control on the emulated link, set per socket: "+
		strings.Join(link.CongestionControls(link.StackUserspace), " or ")+" on the userspace stack; the kernel's loaded ones (cubic, reno, bbr where its module is) on the kernel stack")
	fs.StringVar(&f.stack, "stack", link.StackAuto, "TCP/IP stack at both ends of the emulated link: kernel (this machine's Linux, in network namespaces of muxlab's own; needs root), "+
		"userspace (gVisor's, in process), or auto (the kernel where muxlab may)")
}

// overrides are the flags that change a profile's conditions.
var overrides = []string{"rtt", "jitter", "bandwidth", "uplink", "loss", "loss-burst", "queue"}

// resolve returns the network's name and its link options; nil options
// mean no emulation (loopback).
func (f *netFlags) resolve(fs *pflag.FlagSet) (string, *link.Options, error) {
	p, err := link.LookupProfile(f.profile)
	if err != nil {
		return "", nil, usagef("--net: %q is not a network profile; valid: %s", f.profile, strings.Join(link.ProfileNames(), ", "))
	}
	name, changed := p.Name, false
	for _, o := range overrides {
		changed = changed || fs.Changed(o)
	}
	if !changed && !p.Emulated {
		for _, o := range []string{"seed", "congestion-control", "stack"} {
			if fs.Changed(o) {
				return "", nil, usagef("--%s: only for an emulated network; --net %s is the machine's own", o, p.Name)
			}
		}
		return name, nil, nil
	}
	if changed {
		name = "custom"
	}
	if !slices.Contains(link.Stacks(), f.stack) {
		return "", nil, usagef("--stack: %q is not one of %s", f.stack, strings.Join(link.Stacks(), ", "))
	}
	if f.stack == link.StackKernel {
		if err := link.KernelSupport(); err != nil {
			return "", nil, usageError{fmt.Errorf("--stack kernel: %w", err)}
		}
	}
	if ccs := link.CongestionControls(f.stack); !slices.Contains(ccs, f.cc) {
		return "", nil, usagef("--congestion-control: %q is not one of %s on the %s stack", f.cc, strings.Join(ccs, ", "), link.StackName(f.stack))
	}
	if err := errorsJoinFirst(
		checkRange("rtt", f.rtt, 0, 2*link.MaxDelay),
		checkRange("jitter", f.jitter, 0, link.MaxDelay),
		checkRange("loss-burst", f.burst, 0, link.MaxBurst),
	); err != nil {
		return "", nil, err
	}
	if fs.Changed("rtt") {
		p.RTT = f.rtt
	}
	if fs.Changed("bandwidth") {
		p.Down, p.Up = int64(f.bandwidth), int64(f.bandwidth)
	}
	if fs.Changed("uplink") {
		p.Up = int64(f.uplink)
	}
	if fs.Changed("loss") {
		p.Loss = float64(f.loss)
	}
	if fs.Changed("loss-burst") {
		p.Burst = f.burst
	}
	opts := p.Options(f.seed)
	opts.Up.Jitter, opts.Down.Jitter = f.jitter, f.jitter
	if fs.Changed("queue") {
		if f.queue < link.DefaultMTU || f.queue > link.MaxQueue {
			return "", nil, usagef("--queue: %s is out of range; allowed one packet (%d bytes) to 1GiB", f.queue.String(), link.DefaultMTU)
		}
		for _, d := range []*link.Direction{&opts.Up, &opts.Down} {
			if d.Rate > 0 {
				d.Queue = int64(f.queue)
			}
		}
	}
	opts.CongestionControl = f.cc
	opts.Stack = f.stack
	if err := opts.Validate(); err != nil {
		return "", nil, usageError{fmt.Errorf("--net %s: %w", f.profile, err)}
	}
	return name, &opts, nil
}

// newLink makes the emulated network for opts, or nil for none.
func newLink(opts *link.Options) (*link.Network, error) {
	if opts == nil {
		return nil, nil
	}
	return link.New(*opts)
}

// relayTargets puts the link in front of real servers: each target's
// connections cross the link to a relay on its far side, which forwards
// them to the target's address. Each address is dialed once first, so that
// a server that cannot be reached is named as such, not as a connection
// the relay closed.
func relayTargets(ctx context.Context, n *link.Network, targets []bench.Target, dialTimeout time.Duration) error {
	for i := range targets {
		t := &targets[i]
		d := net.Dialer{Timeout: dialTimeout}
		c, err := d.DialContext(ctx, "tcp", t.Addr)
		if err != nil {
			return fmt.Errorf("%s at %s cannot be reached to put the emulated link in front of it: %w", t.Listener, t.URL, err)
		}
		c.Close()
		far, err := n.Relay(ctx, "tcp", t.Addr, dialTimeout)
		if err != nil {
			return err
		}
		t.Dial = func(ctx context.Context, _, _ string) (net.Conn, error) { return n.Dial(ctx, "tcp", far) }
		t.Link, t.LinkAddr = n, far // a browser contender reaches it there
	}
	return nil
}

// rateValue is a pflag.Value of bits per second, written like 10Mbit/s;
// "unlimited" is zero.
type rateValue int64

func (r *rateValue) String() string { return results.FormatRate(int64(*r)) }
func (r *rateValue) Type() string   { return "rate" }
func (r *rateValue) Set(v string) error {
	if strings.EqualFold(strings.TrimSpace(v), "unlimited") {
		*r = 0
		return nil
	}
	bps, err := link.ParseRate(v)
	if err != nil {
		return err
	}
	*r = rateValue(bps)
	return nil
}

// lossValue is a pflag.Value of a loss rate, written like 2% or 0.02.
type lossValue float64

func (l *lossValue) String() string { return fmt.Sprintf("%g%%", float64(*l)*100) }
func (l *lossValue) Type() string   { return "rate" }
func (l *lossValue) Set(v string) error {
	x, err := link.ParseLoss(v)
	if err != nil {
		return err
	}
	*l = lossValue(x)
	return nil
}

// listProfiles prints the network profiles for --list.
func listProfiles(w io.Writer) {
	width := outputWidth(w)
	fmt.Fprintln(w, "networks (--net; --rtt, --bandwidth, --uplink, --loss, --queue override):")
	for _, p := range link.Profiles() {
		text := p.Summary
		if p.Emulated {
			text += fmt.Sprintf(". rtt %v, down %s, up %s, loss %g%%, queue %s down; source: %s", p.RTT,
				results.FormatRate(p.Down), results.FormatRate(p.Up), p.Loss*100, mux.FormatSize(p.QueueBytes(p.Down, link.DefaultMTU)), p.Source)
		}
		listItem(w, width, p.Name, text)
	}
}
