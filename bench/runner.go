package bench

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"muxlab/h1pool"
	"muxlab/h2client"
	"muxlab/results"
)

// Contender names.
const (
	H1  = "h1"
	H2  = "h2"
	Hey = "hey"
)

// ContenderNames lists the valid contenders, in their default order.
func ContenderNames() []string { return []string{H1, H2, Hey} }

// Options configures a run. Zero fields take the defaults in parentheses.
type Options struct {
	// Scenario is the workload; see Scenarios and Validate. Its Conns (6)
	// is the number of h1's connections and hey's workers.
	Scenario results.Scenario
	// Contenders run in this order in every round (h1, h2, hey).
	Contenders []string
	// H1URL and H2CURL are the base URLs of the HTTP/1.1 and h2c listeners,
	// e.g. "http://127.0.0.1:8080". Required.
	H1URL, H2CURL string
	// Truth is where the server's own counts come from. Nil: GET /stats on
	// the server, if it answers.
	Truth GroundTruth
	// Embedded says the server runs in this process.
	Embedded bool
	// Timeout bounds each request (30s); DialTimeout each dial and
	// handshake (5s).
	Timeout, DialTimeout time.Duration
	// Version is muxlab's version, for the result file.
	Version string
	// Progress, if not nil, is called about ten times a second with what
	// runs now and how far it is.
	Progress func(Progress)
}

// Progress says how far a run is.
type Progress struct {
	Contender string
	Round     int // 1-based
	Rounds    int
	Done      int64 // requests finished in this turn
	Total     int64 // requests in this turn; -1 when the turn is timed
}

func (o *Options) normalize() error {
	if o.Scenario.Conns == 0 {
		o.Scenario.Conns = h1pool.DefaultConns
	}
	if len(o.Contenders) == 0 {
		o.Contenders = ContenderNames()
	}
	seen := map[string]bool{}
	for _, c := range o.Contenders {
		if !isContender(c) {
			return fmt.Errorf("bench: unknown contender %q; valid: %s", c, strings.Join(ContenderNames(), ", "))
		}
		if seen[c] {
			return fmt.Errorf("bench: contender %q named twice", c)
		}
		seen[c] = true
	}
	if seen[Hey] && o.Scenario.Mode == results.Open {
		return errors.New("bench: hey cannot run an open-loop scenario at a fixed arrival rate per request; leave hey out")
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = 5 * time.Second
	}
	return Validate(&o.Scenario)
}

func seen(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

func isContender(name string) bool {
	for _, c := range ContenderNames() {
		if c == name {
			return true
		}
	}
	return false
}

// Run runs the scenario against every contender, in turns within each
// round, and returns the result. If ctx is cancelled (Ctrl-C) the result
// holds what was measured until then and says it was interrupted; the error
// is nil. An error means nothing was measured: a bad option, or a server
// that does not answer or speaks the wrong protocol.
func Run(ctx context.Context, opts Options) (*results.Run, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	addrs, err := targetAddrs(opts)
	if err != nil {
		return nil, err
	}
	if err := preflight(ctx, opts, addrs); err != nil {
		return nil, err
	}
	rtt := probeRTT(ctx, opts, addrs)
	truth, truthNote := opts.Truth, "in process"
	if truth == nil {
		truth, truthNote = probeRemoteTruth(ctx, opts, addrs)
		if c, ok := truth.(interface{ Close() }); ok {
			defer c.Close()
		}
	}
	run := results.NewRun(opts.Version, runtime.Version(), results.Machine{
		OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
	}, time.Now())
	run.Scenario = opts.Scenario
	run.Target = results.Target{H1URL: opts.H1URL, H2CURL: opts.H2CURL, Embedded: opts.Embedded, GroundTruth: truthNote}
	cs := make([]*contender, len(opts.Contenders))
	for i, name := range opts.Contenders {
		cs[i] = newContender(name, &opts, addrs)
		run.Contenders = append(run.Contenders, results.Contender{
			Name: name, Label: cs[i].label(), Protocol: cs[i].protocol, Conns: cs[i].conns})
	}
	r := &runner{opts: &opts, truth: truth, rtt: rtt}
	stopProgress := r.reportProgress()
	defer stopProgress()
	for round := 1; round <= opts.Scenario.Rounds && ctx.Err() == nil; round++ {
		for i, c := range cs {
			if ctx.Err() != nil {
				break
			}
			rd := r.turn(ctx, c, round)
			run.Contenders[i].Rounds = append(run.Contenders[i].Rounds, *rd)
		}
	}
	if n := heyObjects(opts.Scenario.Objects, opts.Scenario.Conns); seen(opts.Contenders, Hey) &&
		opts.Scenario.Mode == results.Page && n != opts.Scenario.Objects {
		run.Notes = append(run.Notes, fmt.Sprintf("hey, like the hey command, sends n/c requests on each of its %d workers: %d of the %d objects of each page",
			opts.Scenario.Conns, n, opts.Scenario.Objects))
	}
	run.Finished = time.Now()
	run.Interrupted = ctx.Err() != nil
	results.Summarize(run)
	return run, nil
}

// addrs are the host:port of each listener.
type addrs struct{ h1, h2c string }

// targetAddrs checks the base URLs the contenders need and returns their
// host:port; a URL no contender needs may be empty.
func targetAddrs(opts Options) (addrs, error) {
	var a addrs
	needH1 := seen(opts.Contenders, H1) || seen(opts.Contenders, Hey)
	for _, t := range []struct {
		flag, raw string
		dst       *string
		need      bool
	}{{"h1-url", opts.H1URL, &a.h1, needH1}, {"h2c-url", opts.H2CURL, &a.h2c, seen(opts.Contenders, H2)}} {
		if !t.need && t.raw == "" {
			continue
		}
		u, err := url.Parse(t.raw)
		if err != nil || u.Scheme != "http" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return a, &RangeError{Field: t.flag, Value: fmt.Sprintf("%q", t.raw), Allow: "a base URL like http://127.0.0.1:8080"}
		}
		*t.dst = u.Host
		if u.Port() == "" {
			*t.dst = u.Host + ":80"
		}
	}
	return a, nil
}

// preflight checks that each listener a contender needs answers, and in
// its protocol, before anything is measured or written.
func preflight(ctx context.Context, opts Options, a addrs) error {
	ctx, cancel := context.WithTimeout(ctx, opts.DialTimeout)
	defer cancel()
	needH1 := seen(opts.Contenders, H1) || seen(opts.Contenders, Hey)
	needH2 := seen(opts.Contenders, H2)
	if needH2 {
		c, err := h2client.New(h2client.Options{Addr: a.h2c, DialTimeout: opts.DialTimeout})
		if err != nil {
			return err
		}
		defer c.Close()
		if err := c.Connect(ctx); err != nil {
			return fmt.Errorf("bench: --h2c-url %s: %w", opts.H2CURL, err)
		}
	}
	if needH1 {
		if err := checkHTTP1(ctx, opts.H1URL, a.h1, opts.DialTimeout); err != nil {
			return fmt.Errorf("bench: --h1-url %s: %w", opts.H1URL, err)
		}
	}
	return nil
}

// probeRTT measures the round trip to the server on the first contender's
// listener, before anything is counted.
func probeRTT(ctx context.Context, opts Options, a addrs) time.Duration {
	c := newContender(opts.Contenders[0], &opts, a)
	if c.name == Hey {
		c = newContender(H1, &opts, a)
	}
	c.conns = 1
	client, err := c.newClient()
	if err != nil {
		return 0
	}
	defer client.Close()
	return measureRTT(ctx, client, c.base, 21)
}

// runner runs turns and keeps the progress of the current one.
type runner struct {
	opts     *Options
	truth    GroundTruth
	rtt      time.Duration // one round trip, for the page model
	progress atomic.Int64
	current  atomic.Pointer[Progress]
}

func (r *runner) reportProgress() func() {
	if r.opts.Progress == nil {
		return func() {}
	}
	t := time.NewTicker(100 * time.Millisecond)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-t.C:
				if p := r.current.Load(); p != nil {
					q := *p
					q.Done = r.progress.Load()
					r.opts.Progress(q)
				}
			case <-done:
				return
			}
		}
	})
	return func() { t.Stop(); close(done); wg.Wait() }
}

// turn runs one contender's turn in one round.
func (r *runner) turn(ctx context.Context, c *contender, round int) *results.Round {
	sc := &r.opts.Scenario
	total := int64(-1)
	switch {
	case sc.Duration > 0:
	case sc.Mode == results.Page:
		total = int64(sc.Pages * sc.Objects)
	default:
		total = int64(sc.Requests)
	}
	r.progress.Store(0)
	r.current.Store(&Progress{Contender: c.label(), Round: round, Rounds: sc.Rounds, Total: total})
	rd := &results.Round{Round: round}
	truthErr := r.truth.Reset(ctx, c.listener)
	cpu0 := cpuTime()
	c.run(ctx, r, rd)
	rd.CPU = results.Duration(cpuTime() - cpu0)
	if truthErr == nil {
		snap, err := r.truth.Snapshot(context.WithoutCancel(ctx), c.listener)
		if err == nil {
			rd.Server = snap.conns(c.listener, c.addr)
		}
	}
	rd.Interrupted = ctx.Err() != nil
	rd.Disagreement = disagreement(rd)
	return rd
}

// disagreement explains how the client's and the server's counts of
// connections differ, if they do.
func disagreement(rd *results.Round) string {
	if rd.Client == nil || rd.Server == nil {
		return ""
	}
	if rd.Client.Dials != rd.Server.ConnectionsAccepted {
		return fmt.Sprintf("the client dialed %d connections but the server accepted %d on %s",
			rd.Client.Dials, rd.Server.ConnectionsAccepted, rd.Server.Listener)
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
