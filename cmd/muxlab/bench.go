package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"muxlab/balance"
	"muxlab/bench"
	"muxlab/link"
	"muxlab/mux"
	"muxlab/pageset"
	"muxlab/report"
	"muxlab/results"
)

// version is muxlab's version, written into every result file.
const version = "0.1.0"

// benchFlags are the flags of muxlab bench that change the scenario.
type benchFlags struct {
	scenario                     string
	list                         bool
	requests                     int
	concurrency                  int
	duration                     time.Duration
	rate                         float64
	objects                      int
	pages                        int
	delay                        time.Duration
	size                         sizeValue
	conns                        int
	rounds                       int
	warmup                       int
	contenders                   []string
	out                          string
	json                         bool
	quiet                        bool
	h1URL                        string
	h2cURL                       string
	maxStreams                   int
	timeout                      time.Duration
	dialTimeout                  time.Duration
	label                        string
	agent                        string
	noTruth                      bool
	startAt                      string
	startAtMax                   time.Duration
	cold                         bool
	appConns                     int
	pipelineConns, pipelineDepth int
	backends                     int
	balanceMode                  string
	sticky                       bool
	addBackend, stopBackend      bool
	frontStats                   string
	carts                        string
	cartItems                    int
	net                          netFlags
	tls                          bool
	urlsFile                     string
	harFile                      string
	path                         string
	url                          string
	h3URL                        string
	insecure                     bool
	cacert                       string
	pageList                     *pageset.List     // read from --urls
	harPage                      *pageset.Page     // read from --har, its 2xx entries
	harLeftOut                   int               // --har's entries of other statuses
	harReplay                    *pageset.Replayer // --har's page, for the embedded server to answer
	failOn                       []string          // --fail-on, as given
	csv                          bool
	thresholds                   []results.Threshold
	flagSet                      *pflag.FlagSet // the flags as parsed, for what was given
	cpuProfile                   string
}

func (f *benchFlags) define(fs *pflag.FlagSet) {
	f.flagSet = fs
	fs.StringVar(&f.scenario, "scenario", "web", "built-in scenario (see --list)")
	fs.BoolVar(&f.list, "list", false, "list the built-in scenarios and contenders and exit")
	fs.IntVarP(&f.requests, "requests", "n", 0, "requests per contender per round (not for page; default: the scenario's, see --list)")
	fs.IntVarP(&f.concurrency, "concurrency", "c", 0, "requests in flight (not for page; default: the scenario's)")
	fs.DurationVar(&f.duration, "duration", 0, "run each turn for this long instead of a count")
	fs.Float64Var(&f.rate, "rate", 0, "open loop: requests per second, latency from each intended start")
	fs.IntVar(&f.objects, "objects", 0, "objects per page (page scenarios; default: the scenario's, 70 for web)")
	fs.IntVar(&f.pages, "pages", 0, "pages per contender per round (page scenarios; default: the scenario's, 1 for web)")
	fs.DurationVar(&f.delay, "delay", 0, "server-side delay of each request (default: the scenario's, 5ms for web)")
	fs.Var(&f.size, "size", "response size, like 1024 or 4KiB (default: the scenario's, 16KiB for web)")
	fs.IntVar(&f.conns, "conns", bench.DefaultConns, "HTTP/1.1 connections of h1 (and hey's workers)")
	fs.IntVar(&f.rounds, "rounds", 0, "rounds: the contenders take turns in each (default: the scenario's, 3)")
	fs.IntVar(&f.warmup, "warmup", 0, "unmeasured requests (pages) at the start of each turn (default: the scenario's)")
	fs.StringSliceVar(&f.contenders, "contenders", bench.DefaultContenderNames(), "who runs, in turn (the order rotates each round); see --list (sidecar-h2, sidecar-h3 only when named)")
	fs.IntVar(&f.appConns, "app-conns", 0, "the app's connections to its sidecar, for sidecar-h2 and sidecar-h3 (default: --conns)")
	fs.IntVar(&f.pipelineConns, "pipeline-conns", 1, "h1-pipeline's connections")
	fs.IntVar(&f.pipelineDepth, "pipeline-depth", bench.DefaultPipelineDepth, "requests h1-pipeline writes ahead of their answers on each connection")
	fs.IntVar(&f.backends, "backends", 0, "run the embedded server as N demo servers behind a balancing front (default: the scenario's, 3 for balance; 0: one server)")
	fs.StringVar(&f.balanceMode, "balance", "", "with backends: l4 (each connection to the next backend) or l7 (each request) (default: the scenario's, l4 for balance)")
	fs.BoolVar(&f.sticky, "sticky", false, "with --balance l7: keep each client on its first backend by a cookie")
	fs.StringVar(&f.frontStats, "front-stats", "", "with backends against another front (--h1-url, --h2c-url): its stats URL (muxlab serve --backends prints it), for each backend's own count")
	fs.BoolVar(&f.addBackend, "add-backend", false, "with backends: add one halfway through each turn (behind l4, connections already open never reach it)")
	fs.BoolVar(&f.stopBackend, "stop-backend", false, "with backends: stop b1 halfway through each turn, as a crash (what it kept in memory is gone)")
	fs.StringVar(&f.carts, "carts", "", "make each worker a user filling carts: stateful (in a backend's memory), stateless (a signed token) or both (default: the scenario's, both for carts)")
	fs.IntVar(&f.cartItems, "cart-items", 0, fmt.Sprintf("with --carts: adds per cart before it is read back (default: the scenario's, %d)", bench.DefaultCartItems))
	fs.StringVar(&f.out, "out", "muxlab-results", "directory for the result file; - writes the result's JSON to standard output (for a collector); with --json no file unless --out is given")
	fs.StringVar(&f.startAt, "start-at", "", "wait until this time (RFC 3339) before the first request: agents start together")
	fs.DurationVar(&f.startAtMax, "start-at-max", 10*time.Minute, "how far ahead --start-at may be")
	fs.BoolVar(&f.json, "json", false, "print the result JSON instead of the table")
	fs.BoolVar(&f.csv, "csv", false, "print the figures as CSV instead of the table (a row per contender per round, and its total)")
	fs.StringArrayVar(&f.failOn, "fail-on", nil, "a condition that fails the run (exit 3), e.g. 'failed>0', 'h2/h1 page p50>0.8', 'h3 latency p99>=250ms'; repeatable")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "no progress bar, no file message")
	fs.StringVar(&f.h1URL, "h1-url", "", "HTTP/1.1 server to measure (default: an embedded mux server)")
	fs.StringVar(&f.h2cURL, "h2c-url", "", "h2c server to measure (default: an embedded mux server); https:// with --tls")
	fs.StringVar(&f.path, "path", "", "ask every request for this path as it is (a file of any server: --url URL --path /index.html); default the scenario's own paths, meant for muxlab's server")
	fs.StringVar(&f.harFile, "har", "", "a recorded page's objects (a HAR file) replayed against the server given (muxlab serve --har FILE): each origin its own connections")
	fs.StringVar(&f.urlsFile, "urls", "", "a page's objects from a file: one URL per line (one origin), # comments; the page scenario requests them")
	fs.StringVar(&f.url, "url", "", "one server to measure with every contender: https:// (HTTP/1.1 and HTTP/2 chosen by ALPN) or http:// (HTTP/1.1 and h2c on one port)")
	fs.StringVar(&f.h3URL, "h3-url", "", "HTTP/3 server to measure, https://host:port over UDP (default: an embedded mux server)")
	fs.BoolVar(&f.tls, "tls", false, "run h1 and h2 over TLS (ALPN http/1.1 and h2), so that every protocol pays for its handshake as HTTP/3 does")
	fs.BoolVar(&f.insecure, "insecure", false, "do not verify the servers' certificates (said in the result)")
	fs.StringVar(&f.cacert, "cacert", "", "PEM file of the certificates that verify the servers (default: the system's)")
	fs.IntVar(&f.maxStreams, "max-streams", mux.DefaultMaxConcurrentStreams, "embedded server's HTTP/2 MAX_CONCURRENT_STREAMS")
	fs.DurationVar(&f.timeout, "timeout", bench.DefaultTimeout, "time allowed for each request")
	fs.DurationVar(&f.dialTimeout, "dial-timeout", bench.DefaultDialTimeout, "time allowed to connect and handshake")
	fs.StringVar(&f.label, "label", "", "a name for this run in reports, e.g. \"before the change\"")
	fs.StringVar(&f.agent, "agent", "", "the load agent's name, for muxlab merge (each agent its own)")
	fs.BoolVar(&f.noTruth, "no-server-counts", false, "ask the server for no counts: several agents share it (read its /stats after them all)")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof reads it)")
	fs.BoolVar(&f.cold, "cold", false, "page: every page on new connections, handshakes included")
	f.net.define(fs)
}

// describeDemands says what the scenario asks of the server once flags
// changed its figures, as the built-in summaries do for theirs.
func describeDemands(sc *results.Scenario) string {
	what := fmt.Sprintf("%d objects", sc.Objects)
	if sc.Mode != results.Page {
		ep := sc.Endpoint
		if sc.Query != "" {
			ep += "?" + sc.Query
		}
		what = fmt.Sprintf("%s, %d in flight", ep, sc.Concurrency)
	}
	if sc.Size > 0 {
		what += " of " + mux.FormatSize(sc.Size)
	}
	if sc.Delay > 0 {
		what += fmt.Sprintf(", each delayed %v at the server", sc.Delay.D())
	} else {
		what += ", no delay at the server"
	}
	if sc.SlowEvery > 0 {
		what += fmt.Sprintf(", every %dth one %v", sc.SlowEvery, sc.SlowDelay.D())
	}
	if sc.Carts != "" { // users filling carts: the endpoint and delay are not theirs
		what = fmt.Sprintf("%d users filling %s carts (%d adds, then a read back)", sc.Concurrency, sc.Carts, sc.CartItems)
	}
	if sc.Backends > 0 {
		what += fmt.Sprintf(", through a layer-%s front to %d backends", strings.TrimPrefix(sc.Balance, "l"), sc.Backends)
	}
	if sc.Mode == results.Page {
		return "pages of " + what + ", every object requested at once"
	}
	return what
}

// applyPath makes every request of the scenario ask for --path as it is:
// no query of muxlab's own (delay, size) is added unless those flags were
// given, so any server's file can be measured.
func (f *benchFlags) applyPath(sc *results.Scenario, fs *pflag.FlagSet) error {
	switch {
	case f.harPage != nil || f.pageList != nil:
		return usagef("--path: one path for every request; --har and --urls give a page's own")
	case !strings.HasPrefix(f.path, "/") || strings.ContainsAny(f.path, " \t\r\n#"):
		return usagef("--path: %q is not a path like /index.html or /api/items?id=1", f.path)
	case sc.SlowEvery > 0:
		return usagef("--path: the %s scenario mixes slow and fast requests of muxlab's server; --path gives one path", sc.Name)
	}
	sc.Endpoint, sc.Query = f.path, ""
	if !fs.Changed("delay") {
		sc.Delay = 0
	}
	if !fs.Changed("size") {
		sc.Size = 0
	}
	sc.Source = "--path " + f.path
	if sc.Mode == results.Page {
		sc.Summary = fmt.Sprintf("a page of %d requests for %s, all at once", sc.Objects, f.path)
	} else {
		sc.Summary = "every request for " + f.path
	}
	return nil
}

// scenario returns the chosen scenario with the flags that were set applied.
func (f *benchFlags) scenarioFrom(fs *pflag.FlagSet) (results.Scenario, error) {
	sc, err := bench.Lookup(f.scenario)
	if err != nil {
		return sc, usagef("--scenario: %q is not a scenario; valid: %s", f.scenario, strings.Join(bench.ScenarioNames(), ", "))
	}
	page := sc.Mode == results.Page
	for _, name := range []string{"requests", "concurrency", "rate"} {
		if page && fs.Changed(name) {
			return sc, usagef("--%s: the page scenario requests whole pages at once; use --objects and --pages", name)
		}
	}
	for _, name := range []string{"objects", "pages", "cold"} {
		if !page && fs.Changed(name) {
			return sc, usagef("--%s: only for the page scenario", name)
		}
	}
	set := func(name string, apply func()) {
		if fs.Changed(name) {
			apply()
		}
	}
	set("requests", func() { sc.Requests = f.requests })
	set("concurrency", func() { sc.Concurrency = f.concurrency })
	set("duration", func() { sc.Duration = results.Duration(f.duration) })
	set("rate", func() { sc.Rate, sc.Mode = f.rate, results.Open })
	set("objects", func() { sc.Objects = f.objects })
	set("pages", func() { sc.Pages = f.pages })
	set("delay", func() { sc.Delay = results.Duration(f.delay) })
	set("size", func() { sc.Size = int64(f.size) })
	set("rounds", func() { sc.Rounds = f.rounds })
	set("warmup", func() { sc.Warmup = f.warmup })
	set("cold", func() { sc.Cold = f.cold })
	set("app-conns", func() { sc.AppConns = f.appConns })
	set("backends", func() { sc.Backends = f.backends })
	set("balance", func() { sc.Balance = f.balanceMode })
	set("sticky", func() { sc.Sticky = f.sticky })
	set("add-backend", func() { sc.AddBackend = f.addBackend })
	set("stop-backend", func() { sc.StopBackend = f.stopBackend })
	set("carts", func() { sc.Carts = f.carts })
	set("cart-items", func() { sc.CartItems = f.cartItems })
	if sc.Carts != "" && sc.CartItems == 0 {
		sc.CartItems = bench.DefaultCartItems
	}
	if sc.Backends > 0 && sc.Balance == "" {
		sc.Balance = balance.ModeL4
	}
	if sc.Backends == 0 {
		for _, name := range []string{"balance", "sticky", "add-backend", "stop-backend"} {
			if fs.Changed(name) {
				return sc, usagef("--%s goes with backends (--backends, or --scenario balance)", name)
			}
		}
	}
	for _, err := range []error{checkRange("pipeline-conns", f.pipelineConns, 1, 1000), checkRange("pipeline-depth", f.pipelineDepth, 1, bench.MaxPipelineDepth)} {
		if err != nil {
			return sc, err
		}
	}
	if slices.Contains(f.contenders, bench.H1Pipeline) {
		sc.PipelineConns, sc.PipelineDepth = f.pipelineConns, f.pipelineDepth
	}
	if f.harPage != nil {
		if !page || fs.Changed("objects") {
			return sc, usagef("--har: the recording is a page's objects: use a page scenario, without --objects")
		}
		sc.Paths, sc.Hosts, sc.Source, sc.Endpoint = nil, nil, f.harFile, ""
		sc.Delay, sc.Size = 0, 0 // each object has its own, recorded
		for _, e := range f.harPage.Entries {
			sc.Paths = append(sc.Paths, e.URL.RequestURI())
			sc.Hosts = append(sc.Hosts, e.URL.Hostname())
			sc.ObjectTypes = append(sc.ObjectTypes, mimeOf(e.Header["Content-Type"]))
			sc.ObjectSizes = append(sc.ObjectSizes, e.Size)
			sc.ObjectDelays = append(sc.ObjectDelays, results.Duration(e.Wait))
		}
		sc.Objects = len(sc.Paths)
		sc.Summary = fmt.Sprintf("a recorded page: the %d objects of %d origins in %s, requested all at once, each with its recorded size and wait; %d entries not answered 2xx left out",
			sc.Objects, len(f.harPage.Origins()), f.harFile, f.harLeftOut)
	}
	if f.pageList != nil {
		if !page || fs.Changed("objects") {
			return sc, usagef("--urls: the list is a page's objects: use a page scenario, without --objects")
		}
		sc.Paths, sc.Objects, sc.Source = f.pageList.Paths(), len(f.pageList.URLs), f.urlsFile
		sc.Endpoint = ""
		sc.Delay, sc.Size, sc.ObjectDelays, sc.ObjectSizes = 0, 0, nil, nil
		known := "what each URL asks of the demo server (delay, size) is the model's; other figures are not known to it"
		if delays, sizes, ok := urlDemands(f.pageList.URLs); ok {
			sc.ObjectDelays, sc.ObjectSizes = delays, sizes
		} else {
			known = "the URLs do not all give their size (as the demo server's size parameter): the model leaves out the objects' bytes"
			sc.ObjectDelays = delays
		}
		if len(f.pageList.Origins()) > 1 { // each origin on connections of its own, by its Host
			sc.Hosts = nil
			for _, u := range f.pageList.URLs {
				sc.Hosts = append(sc.Hosts, u.Hostname())
			}
		}
		sc.Summary = fmt.Sprintf("a page of the %d URLs of %s, requested all at once; %s", sc.Objects, f.urlsFile, known)
	}
	if fs.Changed("path") {
		if err := f.applyPath(&sc, fs); err != nil {
			return sc, err
		}
	}
	sc.Conns = f.conns
	var changed []string
	for _, name := range []string{"requests", "concurrency", "duration", "rate", "objects", "pages", "delay", "size", "rounds", "warmup", "cold", "backends", "balance", "sticky", "add-backend", "stop-backend", "carts", "cart-items"} {
		if fl := fs.Lookup(name); fl != nil && fl.Changed {
			changed = append(changed, "--"+name+" "+fl.Value.String())
		}
	}
	demands := fs.Changed("objects") || fs.Changed("delay") || fs.Changed("size") || fs.Changed("requests") || fs.Changed("concurrency")
	if demands && f.harPage == nil && f.pageList == nil && !fs.Changed("path") {
		sc.Summary = describeDemands(&sc) // the built-in one quotes the built-in figures
	}
	if len(changed) > 0 {
		sc.Summary += " [changed: " + strings.Join(changed, ", ") + "]"
	}
	if err := bench.Validate(&sc); err != nil {
		var re *bench.RangeError
		if errors.As(err, &re) {
			return sc, usagef("--%s: %s is out of range; allowed %s", re.Field, re.Value, re.Allow)
		}
		var fe *bench.FieldError
		if errors.As(err, &fe) {
			return sc, usagef("--%s: %s", fe.Field, fe.Reason)
		}
		return sc, usageError{err}
	}
	return sc, nil
}

// urlDemands reads what each URL asks of the demo server: its delay (none:
// zero, as the server takes) and its size; ok says every URL gave a size
// (else sizes is nil). A value the demo server would refuse counts as not
// given.
func urlDemands(urls []*url.URL) (delays []results.Duration, sizes []int64, ok bool) {
	ok = true
	for _, u := range urls {
		q := u.Query()
		d, err := time.ParseDuration(q.Get("delay"))
		if err != nil || d < 0 {
			d = 0
		}
		delays = append(delays, results.Duration(d))
		n, err := mux.ParseSize(q.Get("size"))
		if err != nil || !q.Has("size") {
			ok = false
		}
		sizes = append(sizes, n)
	}
	if !ok {
		sizes = nil
	}
	return delays, sizes, ok
}

// mimeOf is a Content-Type without its parameters: "text/css".
func mimeOf(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	if ct = strings.TrimSpace(ct); ct == "" {
		return "unknown"
	}
	return ct
}

// startTime reads --start-at: zero when not given; a time in the past
// starts at once (said when the run starts); more than --start-at-max ahead
// is refused.
func (f *benchFlags) startTime(now time.Time) (time.Time, error) {
	if f.startAt == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, f.startAt)
	if err != nil {
		return time.Time{}, usagef("--start-at: %q is not a time like 2026-11-30T20:00:00Z (RFC 3339)", f.startAt)
	}
	if err := checkRange("start-at-max", f.startAtMax, 0, 24*time.Hour); err != nil {
		return time.Time{}, err
	}
	if ahead := t.Sub(now); ahead > f.startAtMax {
		return time.Time{}, usagef("--start-at: %s is %v ahead, more than --start-at-max %v", f.startAt, ahead.Round(time.Second), f.startAtMax)
	}
	return t, nil
}

// waitUntil waits for start (zero: not at all), or says that it is past.
func waitUntil(ctx context.Context, start time.Time, stderr io.Writer) error {
	if start.IsZero() {
		return nil
	}
	d := time.Until(start)
	if d <= 0 {
		fmt.Fprintf(stderr, "muxlab: --start-at %s is %v past: starting at once\n", start.Format(time.RFC3339), (-d).Round(time.Millisecond))
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w while waiting for --start-at; nothing measured, no result written", errInterrupted)
	}
}

// warn says on stderr, whatever -q says, what makes the run's figures
// less than they seem.
func (f *benchFlags) warn(stderr io.Writer, sc *results.Scenario) {
	if f.insecure {
		fmt.Fprintln(stderr, "muxlab: warning: --insecure: the servers' certificates are not verified")
	}
	if !f.embedded() && f.path == "" && f.harPage == nil && f.pageList == nil && sc.Endpoint != "" {
		fmt.Fprintf(stderr, "muxlab: note: the %s scenario asks for %s, a path of muxlab's own server (muxlab serve); "+
			"to measure another server, give --path (one path), --urls (a page's URLs) or --har (a recorded page)\n", sc.Name, sc.Endpoint)
	}
}

// plan is a checked run: the scenario and the network, known before
// anything runs.
type plan struct {
	sc       results.Scenario
	profile  string
	linkOpts *link.Options // nil: no emulation
}

// plan checks every flag and returns what to run; bad input is a usage
// error naming its flag.
func (f *benchFlags) plan(fs *pflag.FlagSet) (plan, error) {
	sc, err := f.scenarioFrom(fs)
	if err != nil {
		return plan{}, err
	}
	if err := f.checkOther(); err != nil {
		return plan{}, err
	}
	if sc.Mode == results.Open {
		if err := f.openLoopContenders(fs.Changed("contenders")); err != nil {
			return plan{}, err
		}
	}
	if f.frontStats != "" {
		u, err := url.Parse(f.frontStats)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			return plan{}, usagef("--front-stats: %q is not a URL like http://127.0.0.1:8090/stats", f.frontStats)
		case f.embedded() || sc.Backends == 0:
			return plan{}, usagef("--front-stats goes with backends (--scenario balance or carts, --backends) against another front (--h1-url, --h2c-url)")
		}
	}
	if sc.Backends > 0 {
		if f.contenders, err = bench.BehindFront(f.contenders, fs.Changed("contenders"), f.tls); err != nil {
			return plan{}, usagef("--contenders: %v", err)
		}
	}
	for _, name := range f.contenders {
		if c, _ := bench.LookupContender(name); c.PageOnly && sc.Mode != results.Page { // checked by checkOther
			return plan{}, usagef("--contenders: %s loads pages: use a page scenario, or leave it out", name)
		}
	}
	if !fs.Changed("net") {
		f.net.profile = bench.ScenarioNet(sc.Name)
	}
	profile, linkOpts, err := f.net.resolve(fs)
	if err != nil {
		return plan{}, err
	}
	return plan{sc: sc, profile: profile, linkOpts: linkOpts}, nil
}

// measure runs p: it makes the emulated link if any, the embedded server or
// the relays to the servers named, and runs the contenders.
func (f *benchFlags) measure(ctx context.Context, p plan, bar *progressBar) (*results.Run, error) {
	ln, err := newLink(p.linkOpts)
	if err != nil {
		return nil, err
	}
	if ln != nil {
		defer ln.Close()
	}
	opts := bench.Options{Scenario: p.sc, Contenders: f.contenders, Timeout: f.timeout, DialTimeout: f.dialTimeout, Version: version,
		Link: ln, Profile: p.profile}
	opts.TLS, opts.NoTruth, opts.FrontStats = f.tls, f.noTruth, f.frontStats
	if f.embedded() {
		if f.harReplay != nil {
			opts.Replay = f.harReplay
		}
		stop, err := bench.Embed(&opts, f.maxStreams, ln)
		if err != nil {
			return nil, err
		}
		defer stop()
	} else if opts.Targets, err = f.targets(); err != nil {
		return nil, err
	} else if ln != nil {
		if err := relayTargets(ctx, ln, opts.Targets, f.dialTimeout); err != nil {
			return nil, err
		}
	}
	if bar != nil {
		opts.Progress = bar.update
	}
	run, err := bench.Run(ctx, opts)
	bar.finish()
	if run != nil && f.insecure {
		run.Notes = append(run.Notes, "--insecure: the servers' certificates were not verified; any server could have answered")
	}
	return run, err
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", stderr)
	var f benchFlags
	f.define(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := f.readURLs(); err != nil {
		return err
	}
	if err := f.readHAR(); err != nil {
		return err
	}
	if err := f.oneURL(); err != nil {
		return err
	}
	if f.list {
		width := outputWidth(stdout)
		fmt.Fprintln(stdout, "scenarios (--scenario):")
		for _, s := range bench.Scenarios() {
			listItem(stdout, width, s.Name, s.Summary)
		}
		fmt.Fprintln(stdout, "contenders (--contenders):")
		for _, c := range bench.Contenders() {
			listItem(stdout, width, c.Name, c.Summary)
		}
		listProfiles(stdout)
		return nil
	}
	p, err := f.plan(fs)
	if err != nil {
		return err
	}
	f.noFileWithJSON(fs)
	if err := f.readThresholds(); err != nil {
		return err
	}
	if f.out != "-" && f.out != "" {
		if err := results.CheckDir(f.out); err != nil {
			return usagef("--out: %v", err)
		}
	}
	start, err := f.startTime(time.Now())
	if err != nil {
		return err
	}
	f.warn(stderr, &p.sc)
	if err := waitUntil(ctx, start, stderr); err != nil {
		return err
	}
	bar := newProgress(stderr, f.quiet)
	stopProfile, err := startCPUProfile(f.cpuProfile)
	if err != nil {
		return err
	}
	run, err := f.measure(ctx, p, bar)
	if perr := stopProfile(); perr != nil {
		fmt.Fprintf(stderr, "muxlab: %v\n", perr)
	}
	switch {
	case err != nil && ctx.Err() != nil:
		return fmt.Errorf("%w before anything was measured; no result written", errInterrupted)
	case err != nil:
		return err
	}
	run.Label, run.Agent = f.label, f.agent
	run.Thresholds = f.thresholds
	missed := run.CheckThresholds()
	if err := f.emit(run, stdout, stderr); err != nil {
		return err
	}
	if run.Interrupted {
		return errInterrupted
	}
	if bad := run.Unanswered(); len(bad) > 0 {
		return fmt.Errorf("no request was answered for %s: the result holds what failed", strings.Join(bad, "; "))
	}
	if len(missed) > 0 {
		var why []string
		for _, t := range missed {
			why = append(why, fmt.Sprintf("%q (%s)", t.Expr, t.Why))
		}
		return thresholdError{fmt.Errorf("%d of %d thresholds missed: %s", len(missed), len(run.Thresholds), strings.Join(why, "; "))}
	}
	return nil
}

// readThresholds parses --fail-on and checks that the contenders it names
// run.
func (f *benchFlags) readThresholds() error {
	f.thresholds = nil
	for _, e := range f.failOn {
		t, err := results.ParseThreshold(e)
		if err != nil {
			return usagef("--fail-on: %v", err)
		}
		for _, name := range []string{t.Contender, t.Other} {
			if name != "" && !slices.Contains(f.contenders, name) {
				return usagef("--fail-on: %q names %s, which does not run (--contenders %s)", e, name, strings.Join(f.contenders, ","))
			}
		}
		f.thresholds = append(f.thresholds, t)
	}
	return nil
}

// noFileWithJSON: --json prints the result, and writes no file unless
// --out names a directory.
func (f *benchFlags) noFileWithJSON(fs *pflag.FlagSet) {
	if f.json && !fs.Changed("out") {
		f.out = ""
	}
}

// emit prints run (the table, or the JSON) and then writes its file: shown
// before written, so that a failed write loses no figure.
func (f *benchFlags) emit(run *results.Run, stdout, stderr io.Writer) error {
	if f.out == "-" { // the JSON alone on stdout, for a collector; the table on stderr
		if !f.quiet {
			if err := printRun(stderr, run, false); err != nil {
				return err
			}
		}
		return printRun(stdout, run, true)
	}
	show := func() error { return printRun(stdout, run, f.json) }
	if f.csv {
		show = func() error { return report.WriteCSV(stdout, run) }
	}
	if err := show(); err != nil {
		return err
	}
	if f.out == "" { // --json, and no --out: the JSON printed is the result
		return nil
	}
	path, err := results.Write(f.out, run)
	if err != nil {
		return err
	}
	if !f.quiet {
		fmt.Fprintf(stderr, "result written to %s\n", path)
	}
	return nil
}

// openLoopContenders leaves out of an open-loop run the contenders that
// cannot start requests at a fixed rate, unless they were named: then it is
// an error.
func (f *benchFlags) openLoopContenders(named bool) error {
	var keep []string
	for _, name := range f.contenders {
		c, _ := bench.LookupContender(name) // checked by checkOther
		switch {
		case c.OpenLoop:
			keep = append(keep, name)
		case named:
			return usagef("--contenders: %s cannot start requests at a fixed rate (--rate); leave it out", name)
		}
	}
	f.contenders = keep
	return nil
}

// printRun prints the table, or with asJSON the result itself.
func printRun(w io.Writer, run *results.Run, asJSON bool) error {
	if !asJSON {
		return report.WriteTableWidth(w, run, outputWidth(w))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(run)
}

// checkOther checks the flags that are not part of the scenario.
func (f *benchFlags) checkOther() error {
	if f.csv && (f.json || f.out == "-") {
		return usagef("--csv and --json (or --out -): one form of output at a time")
	}
	if f.insecure && f.cacert != "" {
		return usagef("--insecure and --cacert: verify with the file, or not at all")
	}
	seen := map[string]bool{}
	for _, c := range f.contenders {
		if _, err := bench.LookupContender(c); err != nil {
			return usagef("--contenders: %q is not a contender; valid: %s", c, strings.Join(bench.ContenderNames(), ", "))
		}
		if seen[c] {
			return usagef("--contenders: %q is named twice", c)
		}
		seen[c] = true
	}
	if len(f.contenders) == 0 {
		return usagef("--contenders: name at least one of %s", strings.Join(bench.ContenderNames(), ", "))
	}
	if f.embedded() {
		for _, name := range []string{"insecure", "cacert"} {
			if f.flagSet.Changed(name) {
				return usagef("--%s is for another server's certificates: the embedded server's are trusted for the run", name)
			}
		}
	} else if err := f.remoteContenders(); err != nil {
		return err
	}
	return errorsJoinFirst(
		checkRange("max-streams", f.maxStreams, 1, 1<<20),
		checkRange("timeout", f.timeout, time.Millisecond, time.Hour),
		checkRange("dial-timeout", f.dialTimeout, time.Millisecond, time.Minute),
	)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressBar shows one bar per turn on a terminal, or, where stderr is
// not one (a log, CI), one line per turn with the time elapsed and an
// estimate of the time left.
type progressBar struct {
	w     io.Writer
	lines bool      // a line per turn, no bar
	start time.Time // the run's start
	first time.Time // the first turn's: turns are timed from it, set-up apart
	bar   *progressbar.ProgressBar
	turn  string
}

// newProgress is the feedback of a run on stderr: none when quiet.
func newProgress(stderr io.Writer, quiet bool) *progressBar {
	if quiet {
		return nil
	}
	return &progressBar{w: stderr, lines: !isTerminal(stderr), start: time.Now()}
}

func (p *progressBar) update(pr bench.Progress) {
	turn := fmt.Sprintf("round %d/%d %s", pr.Round, pr.Rounds, pr.Contender)
	if turn != p.turn {
		p.finish()
		p.turn = turn
		elapsed := time.Since(p.start)
		if p.first.IsZero() {
			p.first = time.Now()
		}
		left := "estimating the time left"
		if pr.Turn > 1 {
			left = "about " + clock(time.Since(p.first)/time.Duration(pr.Turn-1)*time.Duration(pr.Turns-pr.Turn+1)) + " left"
		}
		if p.lines {
			fmt.Fprintf(p.w, "muxlab: turn %d of %d: %s; %s elapsed, %s\n", pr.Turn, pr.Turns, turn, clock(elapsed), left)
			return
		}
		p.bar = progressbar.NewOptions64(pr.Total, progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(fmt.Sprintf("turn %d/%d: %s (%s)", pr.Turn, pr.Turns, turn, left)), progressbar.OptionClearOnFinish(),
			progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond))
	}
	if p.bar != nil {
		p.bar.Set64(pr.Done)
	}
}

func (p *progressBar) finish() {
	if p != nil && p.bar != nil {
		p.bar.Finish()
		p.bar = nil
	}
}

// clock writes d as minutes and seconds, "1:05".
func clock(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
