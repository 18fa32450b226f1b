package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	"muxlab/h1pipe"
	"muxlab/h1pool"
	"muxlab/h2client"
	"muxlab/h3client"
	"muxlab/results"
)

// Contender names of the built-in table.
const (
	H1 = "h1"
	// H1Pipeline pipelines HTTP/1.1 requests on one connection (or
	// Scenario.PipelineConns).
	H1Pipeline = "h1-pipeline"
	H2         = "h2"
	H3         = "h3"
	SidecarH2  = "sidecar-h2"
	SidecarH3  = "sidecar-h3"
	Hey        = "hey"
	// Chromium loading the page from the server's listener of each
	// protocol.
	ChromiumH1 = "chromium-h1"
	ChromiumH2 = "chromium-h2"
	ChromiumH3 = "chromium-h3"
)

// Contender describes one client under test. The harness knows contenders
// only through this table: adding one is adding an entry.
type Contender struct {
	// Name is how --contenders and the result name it.
	Name string
	// Protocol is what it speaks on the wire, e.g. "HTTP/2".
	Protocol string
	// Listener is the server listener it talks to ("h1", "h2c", "h3"): a
	// run needs a Target of that name. TLSListener is the one it talks to
	// when the run is over TLS (Options.TLS; "h1_tls", "h2_tls"); empty when
	// it always speaks TLS (h3) or cannot.
	Listener    string
	TLSListener string
	// Summary says what it is, for --list.
	Summary string
	// Baseline marks the contender the others are compared with when it
	// runs (the first one named otherwise).
	Baseline bool
	// Reference marks an outside tool run for reference: no verdict and no
	// ratio column are about it.
	Reference bool
	// OpenLoop says it can start requests at a fixed rate (--rate).
	OpenLoop bool
	// Optional contenders run only when named (the sidecars).
	Optional bool
	// OneOrigin says it cannot keep connections per origin (hey: one
	// transport for every URL), which a recorded page of several origins
	// needs: it is left out of such a run.
	OneOrigin bool
	// Sweep marks the contenders a sweep runs when none are named: the two
	// whose difference a sweep is about.
	Sweep bool
	// PageOnly says it loads pages and nothing else (a browser): it runs
	// only in a page scenario.
	PageOnly bool
	// Counterpart names the muxlab client this contender is the browser's
	// version of (chromium-h2's is h2): the verdict compares their pages.
	Counterpart string

	// conns is how many connections (pool) or workers it uses for sc.
	conns func(sc *results.Scenario) int
	// unit names what conns counts, in the plural.
	unit string
	// newClient builds its client for one turn of sc; nil for a contender
	// that runs its turns itself (run).
	newClient func(t Target, conns int, dialTimeout time.Duration, sc *results.Scenario) (Client, error)
	// run runs a whole turn itself instead of the harness's loops.
	run func(ctx context.Context, r *runner, c *contender, rd *results.Round)
	// probe builds the client that measures the round trip on its protocol
	// (one connection).
	probe func(t Target, dialTimeout time.Duration) (Client, error)
	// pageModel says how many of a page's objects it requests and how many
	// it carries at once; maxStreams is the server's HTTP/2 limit (zero:
	// none known).
	pageModel func(objects, conns, maxStreams int) (requested, perTurn int)
	// handshake is how many round trips a new connection takes before its
	// first request can go: TCP's, and for h2client the wait for the
	// server's SETTINGS (it sends nothing before it knows the stream limit).
	handshake int
	// tlsHandshake is the round trips TLS adds to handshake when the run
	// is over TLS (TLS 1.3: one).
	tlsHandshake int
	// alwaysCold says every page opens new connections whatever
	// Scenario.Cold says (hey: each of its runs makes its own transport).
	alwaysCold bool
	// pipelined says its requests go out at once and their answers come
	// one after another on each connection: the page model pays the round
	// trip once, then each object's server time and transfer in turn.
	pipelined bool
	// wire says how its requests cross the network, for the page model
	// under loss: on its own connections (wirePool), all on one TCP
	// connection (wireTCP), or on one QUIC connection (wireQUIC).
	wire wire
}

// wire is how a contender's requests cross the network.
type wire int

const (
	wirePool wire = iota // each of its connections carries its share
	wireTCP              // one TCP connection carries every request
	wireQUIC             // one QUIC connection carries every request
)

// scenarioless is a client builder that needs nothing of the scenario.
func scenarioless(f func(t Target, conns int, dialTimeout time.Duration) (Client, error)) func(Target, int, time.Duration, *results.Scenario) (Client, error) {
	return func(t Target, conns int, dialTimeout time.Duration, _ *results.Scenario) (Client, error) {
		return f(t, conns, dialTimeout)
	}
}

// h1-pipeline's depth: the requests it writes ahead of their answers.
const (
	DefaultPipelineDepth = h1pipe.DefaultDepth
	MaxPipelineDepth     = h1pipe.MaxDepth
)

// newPipelined is h1-pipeline's client: --conns connections (one unless
// given), Scenario.PipelineDepth requests ahead on each.
func newPipelined(t Target, conns int, dialTimeout time.Duration, sc *results.Scenario) (Client, error) {
	return h1pipe.New(h1pipe.Options{Addr: t.Addr, Conns: conns, Depth: sc.PipelineDepth, Dial: t.tlsDial("http/1.1"), DialTimeout: dialTimeout})
}

func newH1(t Target, conns int, dialTimeout time.Duration) (Client, error) {
	return h1pool.New(h1pool.Options{Addr: t.Addr, Conns: conns, Dial: t.tlsDial("http/1.1"), DialTimeout: dialTimeout})
}

func newH2(t Target, _ int, dialTimeout time.Duration) (Client, error) {
	return h2client.New(h2client.Options{Addr: t.Addr, Dial: t.tlsDial("h2"), DialTimeout: dialTimeout})
}

func newH3(t Target, _ int, dialTimeout time.Duration) (Client, error) {
	return h3client.New(h3client.Options{Addr: t.Addr, TLSConfig: t.TLS, ListenPacket: t.ListenPacket, DialTimeout: dialTimeout})
}

// newH3For is h3's client for a turn of sc: in a scenario of fast and slow
// requests it measures each stream's wait behind its own lost packets, for
// what held the fast ones back.
func newH3For(t Target, _ int, dialTimeout time.Duration, sc *results.Scenario) (Client, error) {
	return h3client.New(h3client.Options{Addr: t.Addr, TLSConfig: t.TLS, ListenPacket: t.ListenPacket, DialTimeout: dialTimeout,
		StreamLoss: sc != nil && sc.SlowEvery > 0})
}

// streamsModel: HTTP/2 and HTTP/3 carry every object at once, up to the
// server's stream limit when it is known.
func streamsModel(objects, _, maxStreams int) (int, int) {
	if maxStreams > 0 {
		return objects, min(objects, maxStreams)
	}
	return objects, objects
}

func probeH1(t Target, dialTimeout time.Duration) (Client, error) { return newH1(t, 1, dialTimeout) }

// appConns is a sidecar contender's app connections: AppConns, or Conns.
func appConns(sc *results.Scenario) int {
	if sc.AppConns > 0 {
		return sc.AppConns
	}
	return sc.Conns
}

// poolModel: HTTP/1.1 carries one object per connection at a time.
func poolModel(objects, conns, _ int) (int, int) { return objects, conns }

// pipelineModel: every object's request goes out at once, but the answers
// come one after another, and the server (net/http, like most) serves a
// connection's requests one at a time: a turn per object and connection,
// the round trip paid once.
func pipelineModel(objects, conns, _ int) (int, int) { return objects, conns }

// table is every contender muxlab knows, in the default order.
var table = []Contender{
	{
		Name: H1, Protocol: "HTTP/1.1", Listener: "h1", TLSListener: "h1_tls", Baseline: true, OpenLoop: true, Sweep: true,
		Summary: "h1pool: exactly --conns keep-alive HTTP/1.1 connections, the rest queue (a browser's six per host)",
		conns:   func(sc *results.Scenario) int { return sc.Conns }, unit: "connections",
		newClient: scenarioless(newH1), probe: probeH1, pageModel: poolModel, handshake: 1, tlsHandshake: 1,
	},
	{
		Name: H2, Protocol: "HTTP/2", Listener: "h2c", TLSListener: "h2_tls", OpenLoop: true, Sweep: true,
		Summary: "h2client: every request a stream on exactly one HTTP/2 connection (h2c, or h2 over TLS with --tls)",
		conns:   func(*results.Scenario) int { return 1 }, unit: "connections",
		newClient: scenarioless(newH2), probe: func(t Target, dialTimeout time.Duration) (Client, error) { return newH2(t, 1, dialTimeout) },
		pageModel: streamsModel, handshake: 2, tlsHandshake: 1, wire: wireTCP,
	},
	{
		Name: H3, Protocol: "HTTP/3", Listener: "h3", OpenLoop: true,
		Summary: "h3client: every request a stream on exactly one QUIC connection (HTTP/3, always TLS 1.3)",
		conns:   func(*results.Scenario) int { return 1 }, unit: "connections",
		newClient: newH3For, probe: func(t Target, dialTimeout time.Duration) (Client, error) { return newH3(t, 1, dialTimeout) },
		// QUIC's handshake carries TLS 1.3: one round trip, then the request.
		pageModel: streamsModel, handshake: 1, wire: wireQUIC,
	},
	{
		Name: SidecarH2, Protocol: "HTTP/1.1 + HTTP/2", Listener: "h2c", TLSListener: "h2_tls", OpenLoop: true, Optional: true,
		Summary: "an unchanged HTTP/1.1 app (--app-conns connections) through a local sidecar: one HTTP/2 connection to the server",
		conns:   appConns, unit: "app connections",
		newClient: newSidecar(false),
		probe:     func(t Target, dialTimeout time.Duration) (Client, error) { return newH2(t, 1, dialTimeout) },
		// The app holds one request per connection: its connections cap
		// what the one upstream connection carries at once.
		pageModel: poolModel, handshake: 2, tlsHandshake: 1, wire: wireTCP,
	},
	{
		Name: SidecarH3, Protocol: "HTTP/1.1 + HTTP/3", Listener: "h3", OpenLoop: true, Optional: true,
		Summary: "an unchanged HTTP/1.1 app (--app-conns connections) through a local sidecar: one HTTP/3 connection to the server",
		conns:   appConns, unit: "app connections",
		newClient: newSidecar(true),
		probe:     func(t Target, dialTimeout time.Duration) (Client, error) { return newH3(t, 1, dialTimeout) },
		pageModel: poolModel, handshake: 1, wire: wireQUIC,
	},
	{
		Name: Hey, Protocol: "HTTP/1.1", Listener: "h1", TLSListener: "h1_tls", Reference: true, OneOrigin: true,
		Summary: "github.com/rakyll/hey's requester with --conns workers, as hey -c would run (for reference)",
		conns:   func(sc *results.Scenario) int { return sc.Conns }, unit: "workers",
		run: runHey, probe: probeH1,
		pageModel: func(objects, conns, _ int) (int, int) { return heyObjects(objects, conns), conns },
		handshake: 1, tlsHandshake: 1, alwaysCold: true,
	},
	{
		Name: H1Pipeline, Protocol: "HTTP/1.1 (pipelined)", Listener: "h1", TLSListener: "h1_tls", OpenLoop: true, Optional: true,
		Summary: "h1pipe: HTTP/1.1 pipelining on exactly --pipeline-conns connections (default 1), up to --pipeline-depth requests " +
			"written ahead of their answers, which come back in order: a slow one holds back every one behind it",
		conns: func(sc *results.Scenario) int { return max(sc.PipelineConns, 1) }, unit: "connections",
		newClient: newPipelined, probe: probeH1, pageModel: pipelineModel, handshake: 1, tlsHandshake: 1, pipelined: true,
	},
}

// browserConns is how many connections Chromium keeps to an HTTP/1.1 origin.
const browserConns = 6

func init() {
	// The browser contenders: Chromium on the TLS listener that offers one
	// protocol, or forced to QUIC; references, run only when named.
	for _, b := range []struct {
		name, counterpart, protocol, listener string
		conns                                 int
		model                                 func(objects, conns, maxStreams int) (int, int)
		handshake                             int
		wire                                  wire
		probe                                 func(t Target, dialTimeout time.Duration) (Client, error)
	}{
		{ChromiumH1, H1, "HTTP/1.1 (Chromium)", "h1_tls", browserConns, poolModel, 2, wirePool, probeH1},
		{ChromiumH2, H2, "HTTP/2 (Chromium)", "h2_tls", 1, streamsModel, 2, wireTCP, func(t Target, d time.Duration) (Client, error) { return newH2(t, 1, d) }},
		{ChromiumH3, H3, "HTTP/3 (Chromium)", "h3", 1, streamsModel, 1, wireQUIC, func(t Target, d time.Duration) (Client, error) { return newH3(t, 1, d) }},
	} {
		n := b.conns
		table = append(table, Contender{
			Name: b.name, Protocol: b.protocol, Listener: b.listener, Reference: true, Optional: true, PageOnly: true,
			Counterpart: b.counterpart,
			Summary: "headless Chromium loading each page of the scenario (fetch, every object at once) from the server's " + b.listener +
				" listener, timed by its own Resource Timing (for reference)",
			conns: func(*results.Scenario) int { return n }, unit: "connections", run: runChromium, probe: b.probe,
			// TCP and TLS 1.3 before the first request; Chromium sends at once,
			// where h2client waits for SETTINGS. QUIC: one round trip.
			pageModel: b.model, handshake: b.handshake, wire: b.wire,
		})
	}
}

// Contenders returns the table of contenders, in the default order.
func Contenders() []Contender { return append([]Contender(nil), table...) }

// ContenderNames lists the contenders' names, in the default order.
func ContenderNames() []string {
	names := make([]string, len(table))
	for i, c := range table {
		names[i] = c.Name
	}
	return names
}

// DefaultContenderNames lists the contenders that run when none are named:
// all but the optional ones, in the default order.
func DefaultContenderNames() []string {
	var names []string
	for _, c := range table {
		if !c.Optional {
			names = append(names, c.Name)
		}
	}
	return names
}

// SweepContenderNames lists the contenders a sweep runs when none are
// named, in the default order.
func SweepContenderNames() []string {
	var names []string
	for _, c := range table {
		if c.Sweep {
			names = append(names, c.Name)
		}
	}
	return names
}

// Needs reports whether the contender named name talks to listener (its
// Listener or its TLSListener). An unknown name needs nothing.
func Needs(name, listener string) bool {
	c, err := LookupContender(name)
	return err == nil && (c.Listener == listener || c.TLSListener == listener)
}

// NeedsAny reports whether any of the contenders named needs listener; no
// names stand for the default contenders.
func NeedsAny(names []string, listener string) bool {
	if len(names) == 0 {
		names = DefaultContenderNames()
	}
	for _, n := range names {
		if Needs(n, listener) {
			return true
		}
	}
	return false
}

// DefaultContendersOn lists the default contenders that talk to listener
// alone, for a run against a server that has only that listener.
func DefaultContendersOn(listener string) []string {
	var names []string
	for _, c := range table {
		if !c.Optional && c.Listener == listener {
			names = append(names, c.Name)
		}
	}
	return names
}

// LookupContender returns the contender with the given name.
func LookupContender(name string) (Contender, error) {
	for _, c := range table {
		if c.Name == name {
			return c, nil
		}
	}
	return Contender{}, fmt.Errorf("bench: unknown contender %q; valid: %s", name, strings.Join(ContenderNames(), ", "))
}

// contender is one contender in one run: its description, its target and
// what was measured before the rounds.
type contender struct {
	Contender
	target  Target
	n       int           // connections or workers
	rtt     time.Duration // the round trip on its protocol; zero if rttErr
	rttErr  error
	planned int64 // requests a counted turn sends; zero when turns are timed
	warmup  int64 // requests its warm-up sends before them
}

func newContender(d Contender, t Target, sc *results.Scenario) *contender {
	c := &contender{Contender: d, target: t, n: d.conns(sc)}
	switch {
	case sc.Duration > 0:
	case sc.Mode == results.Page:
		requested, _ := d.pageModel(sc.Objects, c.n, 0)
		c.planned = int64(sc.Pages * requested)
		if d.Name != Hey { // hey has no warm-up
			c.warmup = int64(sc.Warmup * requested)
		}
	default:
		c.planned = int64(sc.Requests)
		if d.Name == Hey { // hey sends what it sends: see heyObjects
			c.planned = int64(heyObjects(sc.Requests, c.n))
		} else {
			c.warmup = int64(sc.Warmup)
		}
	}
	return c
}

// label says what the contender is, e.g. "h1 (6 connections)".
func (c *contender) label() string {
	unit := c.unit
	if c.n == 1 {
		unit = strings.TrimSuffix(unit, "s")
	}
	return fmt.Sprintf("%s (%d %s)", c.Name, c.n, unit)
}

// model predicts the page time. The objects go in turns of as many as the
// contender carries at once, each turn about one server delay plus one
// round trip plus the time its object takes to cross the bottleneck; the
// bottleneck must also carry every object of the page, after the first
// round trip. The page takes the longer of the two, plus the handshakes of
// a cold page. maxStreams is the HTTP/2 server's limit (zero for HTTP/1.1).
// Slow start is not modelled: warm connections have opened their windows.
func (c *contender) model(sc *results.Scenario, net *results.Network, maxStreams int, page *results.Dist) *results.Model {
	requested, perTurn := c.pageModel(sc.Objects, c.n, maxStreams)
	m := &results.Model{Turns: int(math.Ceil(float64(requested) / float64(max(perTurn, 1))))}
	if c.rttErr != nil {
		m.RTTError = c.rttErr.Error()
		return m
	}
	delay, size := sc.ObjectMeans()
	turn := delay + c.rtt
	if c.pipelined { // the round trip once, then one answer after another
		turn = delay
	}
	obj := objectTime(size, net.DownBPS)
	latency := time.Duration(m.Turns) * (turn + obj)
	if c.pipelined {
		latency += c.rtt
		m.Pipelined = true
	}
	transfer := time.Duration(requested) * obj
	m.RTT, m.TurnTime, m.Transfer = results.Duration(c.rtt), results.Duration(turn), results.Duration(transfer)
	m.Bound = "round trips"
	if net.Loss > 0 {
		recovery, lossTime := c.lossModel(sc, net, requested, m.Turns)
		latency += recovery
		m.Recovery, m.LossTime = results.Duration(recovery), results.Duration(lossTime)
	}
	predicted := latency
	if transfer+turn > predicted {
		predicted, m.Bound = transfer+turn, "bandwidth"
	}
	if l := m.LossTime.D() + turn; l > predicted {
		predicted, m.Bound = l, "loss"
	}
	if sc.Cold || c.alwaysCold {
		rtts := c.handshake
		if c.target.TLS != nil && c.TLSListener != "" {
			rtts += c.tlsHandshake
		}
		m.Handshake = results.Duration(time.Duration(rtts) * c.rtt)
		predicted += m.Handshake.D()
	}
	m.Predicted = results.Duration(predicted)
	if page != nil && page.Count > 0 {
		m.Measured = results.Duration(time.Duration(page.P50 * float64(time.Millisecond)))
		m.Deviation = (float64(m.Measured) - float64(m.Predicted)) / float64(m.Predicted)
	}
	return m
}

// rttProbes is how many requests measure a round trip, at most; over a
// long round trip, as many as fit in rttProbeTime, and at least
// minRTTProbes.
const (
	rttProbes    = 21
	minRTTProbes = 5
	rttProbeTime = time.Second
)

// probeRTT sends one GET /hello to the contender's target on its own
// protocol and fails if the server does not answer in it (within the dial
// timeout), then times rttProbes more, one at a time, and keeps the median:
// the round trip of its page model. Any HTTP status is an answer.
func (c *contender) probeRTT(ctx context.Context, opts *Options) error {
	client, err := c.probe(c.target, opts.DialTimeout)
	if err != nil {
		return err
	}
	defer client.Close()
	get := func(ctx context.Context) (time.Duration, error) {
		ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.target.URL+"/hello", nil)
		if err != nil {
			return 0, err
		}
		setHeaders(req, opts.Version)
		start := time.Now()
		resp, err := client.Do(req, nil)
		if err != nil {
			return 0, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return time.Since(start), err
	}
	first, cancel := context.WithTimeout(ctx, opts.DialTimeout)
	d, err := get(first)
	cancel()
	if err != nil {
		return fmt.Errorf("bench: %s at %s (listener %s) does not answer in %s: %w", c.Name, c.target.URL, c.Listener, c.Protocol, err)
	}
	h := results.NewHistogram()
	probes := rttProbes
	if d > 0 {
		probes = min(rttProbes, max(minRTTProbes, int(rttProbeTime/d)))
	}
	for range probes {
		d, err := get(ctx)
		if err != nil {
			c.rttErr = fmt.Errorf("measuring the round trip: %w", err)
			return nil
		}
		h.Record(d)
	}
	c.rtt = h.Quantile(50)
	return nil
}

// setHeaders gives every request every contender sends the same headers:
// each client would otherwise send its own User-Agent.
func setHeaders(req *http.Request, version string) {
	req.Header.Set("User-Agent", "muxlab/"+version)
}
