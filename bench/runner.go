package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"muxlab/h1pool"
	"muxlab/link"
	"muxlab/mux"
	"muxlab/results"
	"muxlab/roundtrip"
)

// Defaults of Options.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultDialTimeout = roundtrip.DefaultDialTimeout
	DefaultConns       = h1pool.DefaultConns
)

// Options configures a run. Zero fields take the defaults in parentheses.
type Options struct {
	// Scenario is the workload; see Scenarios and Validate. Its Conns
	// (DefaultConns, 6) is the number of connections of a pool and of
	// workers of an outside tool.
	Scenario results.Scenario
	// Contenders run in this order in the first round; the order rotates
	// by one in each round after it (DefaultContenderNames).
	Contenders []string
	// Targets are the server's listeners; every contender needs the one
	// its Listener names (its TLSListener with TLS). Required.
	Targets []Target
	// TLS runs the contenders that can speak TLS over the server's TLS
	// listeners (h1 on "h1_tls", h2 on "h2_tls"), so that every protocol
	// pays for its handshake as HTTP/3 does.
	TLS bool
	// Truth is where the server's own counts come from. Nil: GET /stats on
	// the server, if it answers.
	Truth GroundTruth
	// FrontStats is where a balancing front (muxlab serve --backends)
	// answers its backends' own counts, for a run against it: the figures
	// per backend are then theirs. Empty: the responses' Muxlab-Backend.
	FrontStats string
	// NoTruth asks the server nothing: with several agents on one server,
	// each one's reset of its counts would clobber the others'.
	NoTruth bool
	// Embedded says the server runs in this process: its CPU time is in
	// every CPU figure.
	Embedded bool
	// Replay is a recorded page (pageset.Replayer) the embedded server
	// answers before its own endpoints, every origin of it (Embed); nil:
	// none.
	Replay mux.Replayer
	// Timeout bounds each request (DefaultTimeout, 30s); DialTimeout each
	// dial and handshake (DefaultDialTimeout, 5s).
	Timeout, DialTimeout time.Duration
	// Version is muxlab's version, for the result file and the User-Agent.
	Version string
	// Link is the emulated network the targets are reached through, for
	// its truth in every round and its conditions in the result. Nil: the
	// machine's own network (loopback).
	Link *link.Network
	// Profile names the network profile Link was made from ("4g"); empty:
	// "custom".
	Profile string
	// Progress, if not nil, is called about ten times a second with what
	// runs now and how far it is.
	Progress func(Progress)
}

// Progress says how far a run is.
type Progress struct {
	Contender string
	Round     int // 1-based
	Rounds    int
	Turn      int // 1-based, of Turns: rounds times contenders
	Turns     int
	Done      int64 // requests finished in this turn, its warm-up's included
	Total     int64 // requests in this turn, its warm-up's included; -1 when the turn is timed
}

// normalize fills in the defaults and validates o, and returns the
// contenders of the run with their targets.
func (o *Options) normalize() ([]*contender, error) {
	if o.Scenario.Conns == 0 {
		o.Scenario.Conns = DefaultConns
	}
	if len(o.Contenders) == 0 {
		o.Contenders = DefaultContenderNames()
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if err := Validate(&o.Scenario); err != nil {
		return nil, err
	}
	targets := map[string]Target{}
	for _, t := range o.Targets {
		targets[t.Listener] = t
	}
	var cs []*contender
	seen := map[string]bool{}
	for _, name := range o.Contenders {
		d, err := LookupContender(name)
		if err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, fmt.Errorf("bench: contender %q named twice", name)
		}
		seen[name] = true
		if d.PageOnly && o.Scenario.Mode != results.Page {
			return nil, fmt.Errorf("bench: %s loads pages: use a page scenario, or leave it out", name)
		}
		if o.Scenario.Mode == results.Open && !d.OpenLoop {
			return nil, fmt.Errorf("bench: %s cannot start requests at a fixed rate (an open loop); leave it out", name)
		}
		if o.TLS && d.TLSListener != "" {
			d.Listener = d.TLSListener
		}
		t, ok := targets[d.Listener]
		if !ok {
			return nil, fmt.Errorf("bench: contender %s needs a target for the server's %s listener", name, d.Listener)
		}
		cs = append(cs, newContender(d, t, &o.Scenario))
	}
	return cs, nil
}

// errNotAsked is the truth of a run told not to ask the server.
var errNotAsked = errors.New("bench: the server's counts were not asked for")

// Run runs the scenario against every contender, in turns within each
// round, and returns the result. If ctx is cancelled (Ctrl-C) the result
// holds what was measured until then and says it was interrupted; the error
// is nil. An error means nothing was measured: a bad option, or a server
// that does not answer or speaks the wrong protocol.
func Run(ctx context.Context, opts Options) (*results.Run, error) {
	cs, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		if err := c.probeRTT(ctx, &opts); err != nil {
			return nil, err
		}
	}
	truth, truthNote := opts.Truth, "in process"
	switch {
	case opts.NoTruth:
		truth, truthNote = unavailableTruth{errNotAsked}, "not asked (several agents share the server: read its /stats once, after them all)"
	case truth == nil && opts.Scenario.Backends > 0 && opts.FrontStats != "":
		truth, truthNote = newFrontTruth(opts.FrontStats, opts.DialTimeout+opts.Timeout), "the front's counts of its backends at "+opts.FrontStats
	case truth == nil && opts.Scenario.Backends > 0:
		// Another front: its /stats would be one backend's, whichever the
		// front chose. The figures per backend come from the responses.
		truth, truthNote = unavailableTruth{errNotAsked}, "not asked (a balancing front: each backend counts its own; the figures per backend are the responses' Muxlab-Backend)"
	}
	if truth == nil {
		var closeTruth func()
		truth, truthNote, closeTruth = probeRemoteTruth(ctx, &opts, cs)
		defer closeTruth()
	}
	run := newRun(&opts, cs, truthNote)
	r := &runner{opts: &opts, truth: truth, run: run}
	stopProgress := r.reportProgress()
	defer stopProgress()
	for round := 1; round <= opts.Scenario.Rounds && ctx.Err() == nil; round++ {
		for pos := range cs {
			if ctx.Err() != nil {
				break
			}
			i := (pos + round - 1) % len(cs) // the order rotates: A B C, B C A, ...
			r.turnNo, r.turns = (round-1)*len(cs)+pos+1, opts.Scenario.Rounds*len(cs)
			rd := r.turn(ctx, cs[i], round)
			rd.Position = pos + 1
			run.Contenders[i].Rounds = append(run.Contenders[i].Rounds, *rd)
		}
	}
	run.Notes = append(run.Notes, heyNotes(&opts, cs)...)
	run.Notes = append(run.Notes, stackNotes(&opts)...)
	run.Finished = time.Now()
	run.Interrupted = ctx.Err() != nil
	results.Summarize(run)
	return run, nil
}

// newRun starts the result: what was run, against what, by whom.
func newRun(opts *Options, cs []*contender, truthNote string) *results.Run {
	run := results.NewRun(opts.Version, runtime.Version(), results.Machine{
		OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
	}, time.Now())
	run.Scenario = opts.Scenario
	run.Network = networkOf(opts)
	for _, c := range cs {
		if ms := float64(c.rtt) / float64(time.Millisecond); c.rtt > 0 && (run.Network.MeasuredRTTMS == 0 || ms < run.Network.MeasuredRTTMS) {
			run.Network.MeasuredRTTMS = ms
		}
	}
	run.Target = results.Target{URLs: map[string]string{}, Embedded: opts.Embedded, GroundTruth: truthNote, CPUScope: "client"}
	if opts.Embedded {
		run.Target.CPUScope = "client + embedded server"
	}
	for _, c := range cs {
		run.Target.URLs[c.Listener] = c.target.URL
		run.Contenders = append(run.Contenders, results.Contender{Name: c.Name, Label: c.label(), Protocol: c.Protocol,
			Listener: c.Listener, Conns: c.n, Reference: c.Reference, Counterpart: c.Counterpart})
		if c.Baseline && run.Baseline == "" {
			run.Baseline = c.Name
		}
	}
	if run.Baseline == "" {
		run.Baseline = cs[0].Name
	}
	return run
}

// runner runs turns and keeps the progress of the current one.
type runner struct {
	opts     *Options
	run      *results.Run // the result being made
	truth    GroundTruth
	progress atomic.Int64
	current  atomic.Pointer[Progress]
	turnNo   int // the turn running, from 1, of turns
	turns    int
	started  chan struct{} // a turn started: report it without waiting for the tick
}

func (r *runner) reportProgress() func() {
	if r.opts.Progress == nil {
		return func() {}
	}
	t := time.NewTicker(100 * time.Millisecond)
	done := make(chan struct{})
	r.started = make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-t.C:
			case <-r.started:
			case <-done:
				return
			}
			if p := r.current.Load(); p != nil {
				q := *p
				q.Done = r.progress.Load()
				r.opts.Progress(q)
			}
		}
	})
	return func() { t.Stop(); close(done); wg.Wait() }
}

// turn runs one contender's turn in one round, with the server's counts
// around it, and accounts for every request the turn was to send.
func (r *runner) turn(ctx context.Context, c *contender, round int) *results.Round {
	total := int64(-1)
	if c.planned > 0 {
		total = c.planned + c.warmup // the warm-up counts on: the bar never goes back
	}
	r.progress.Store(0)
	p := &Progress{Contender: c.label(), Round: round, Rounds: r.opts.Scenario.Rounds, Turn: r.turnNo, Turns: r.turns, Total: total}
	r.current.Store(p)
	select {
	case r.started <- struct{}{}:
	default: // nil (no Progress), or a report already due
	}
	rd := &results.Round{Round: round}
	truthErr := r.truth.Reset(ctx, c.Listener)
	if c.run != nil {
		c.run(ctx, r, c, rd)
	} else {
		r.runClient(ctx, c, rd)
	}
	if truthErr == nil {
		// After Ctrl-C the server is still asked, but not for long.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.DialTimeout)
		snap, err := r.truth.Snapshot(sctx, c.Listener)
		cancel()
		if err == nil {
			rd.Server = snap.match(c.target)
		}
	}
	if bt, ok := r.truth.(backendTruth); ok {
		rd.Backends = ownCounts(rd.Backends, bt.Backends())
	}
	if len(rd.Backends) > 0 {
		rd.Backends = results.WithShares(rd.Backends)
		// Backends that answered nothing are not in the responses: the
		// skew is over as many as the scenario has, when it knows more.
		rd.Skew = results.SkewOver(rd.Backends, r.opts.Scenario.Backends)
	}
	if rd.Scheduled == 0 { // the loop did not count its schedule: the plan, or what it started
		rd.Scheduled = max(c.planned, rd.Sent)
	}
	rd.Unsent = rd.Scheduled - rd.Sent
	if rd.OK > 0 {
		rd.CPUPerReqUS = float64(rd.CPU.D().Microseconds()) / float64(rd.OK)
	}
	rd.Interrupted = ctx.Err() != nil
	rd.Disagreement = disagreement(rd)
	return rd
}

// measure runs f as the measured part of a turn: after a GC, so that the
// garbage of what came before is not collected on its time, with the
// process's CPU time and the elapsed time around it.
func measure(rd *results.Round, f func()) {
	runtime.GC()
	cpu0 := cpuTime()
	start := time.Now()
	f()
	rd.Elapsed = results.Duration(time.Since(start))
	rd.CPU = results.Duration(cpuTime() - cpu0)
}

// disagreement explains how the client's and the server's counts of
// connections differ, if they do.
func disagreement(rd *results.Round) string {
	if rd.Client == nil || rd.Server == nil {
		return ""
	}
	// The server counts the warm-up's connections too: so must the client.
	dials, who := rd.Client.Dials+rd.Client.WarmupDials, "the client"
	if sc := rd.Client.Sidecar; sc != nil { // the server sees the sidecar's upstream, not the app
		dials, who = sc.UpstreamDials, "the sidecar"
	}
	if dials != rd.Server.ConnectionsAccepted {
		return fmt.Sprintf("%s dialed %d connections (the warm-up's included) but the server accepted %d on %s",
			who, dials, rd.Server.ConnectionsAccepted, rd.Server.Listener)
	}
	return ""
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ownCounts puts the backends' own counts of requests in place of those of
// the responses that named them (which leave out the warm-up, and any
// response that did not arrive), keeping the responses' latencies; a
// backend that answered nothing is there with its zero.
func ownCounts(byResponses, own []results.BackendFigures) []results.BackendFigures {
	if len(own) == 0 {
		return byResponses
	}
	out := make([]results.BackendFigures, 0, len(own))
	for _, o := range own {
		for _, b := range byResponses {
			if b.Name == o.Name {
				o.Latency = b.Latency
			}
		}
		out = append(out, o)
	}
	return out
}
