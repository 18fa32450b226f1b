package bench_test

import (
	"context"
	"crypto/x509"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"muxlab/bench"
	"muxlab/internal/muxtest"
	"muxlab/link"
	"muxlab/mux"
	"muxlab/mux/h3"
	"muxlab/results"
)

// embedded starts a mux server and returns options that measure it, with
// its counts read in process.
func embedded(t testing.TB, sc results.Scenario, contenders ...string) bench.Options {
	t.Helper()
	srv := muxtest.Start(t, mux.Options{H1Addr: "127.0.0.1:0", H2CAddr: "127.0.0.1:0", H1TLSAddr: "127.0.0.1:0", H2TLSAddr: "127.0.0.1:0"})
	l, err := h3.Listen(srv, h3.Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	l.Start()
	opts := embeddedTruth(srv, sc, contenders...)
	opts.Targets = targets(t, srv.URL(mux.ListenerH1), srv.URL(mux.ListenerH2C))
	pool := x509.NewCertPool()
	leaf, err := x509.ParseCertificate(srv.Certificate().Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool.AddCert(leaf)
	for _, name := range []string{mux.ListenerH1TLS, mux.ListenerH2TLS, mux.ListenerH3} {
		tg, err := bench.NewTarget(name, srv.URL(name), nil)
		if err != nil {
			t.Fatal(err)
		}
		tg.TLS.RootCAs, tg.TLS.ServerName = pool, "localhost"
		opts.Targets = append(opts.Targets, tg)
	}
	return opts
}

// embeddedTruth returns options that read srv's counts in process, with no
// targets yet.
func embeddedTruth(srv *mux.Server, sc results.Scenario, contenders ...string) bench.Options {
	return bench.Options{
		Scenario: sc, Contenders: contenders, Embedded: true,
		Truth: bench.TruthFuncs{ResetFunc: srv.ResetStats, SnapshotFunc: func() bench.ServerSnapshot {
			snap := bench.ServerSnapshot{}
			for name, l := range srv.Stats().Listeners {
				snap[name] = bench.ListenerCounts{Addr: l.Addr, ConnectionsAccepted: l.ConnectionsAccepted,
					Requests: l.Requests, PeakInFlightPerConn: l.PeakInFlightPerConn, Protos: l.Protos}
			}
			return snap
		}},
	}
}

// targets makes the targets of an h1 and an h2c listener; an empty URL is
// left out.
func targets(t testing.TB, h1, h2c string) []bench.Target {
	t.Helper()
	var out []bench.Target
	for _, l := range []struct{ name, url string }{{"h1", h1}, {"h2c", h2c}} {
		if l.url == "" {
			continue
		}
		tg, err := bench.NewTarget(l.name, l.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tg)
	}
	return out
}

func scenario(t testing.TB, name string, edit func(*results.Scenario)) results.Scenario {
	t.Helper()
	sc, err := bench.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	sc.Conns = 6
	edit(&sc)
	return sc
}

func run(t testing.TB, ctx context.Context, opts bench.Options) *results.Run {
	t.Helper()
	r, err := bench.Run(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// accounted checks that every request ended as ok, failed or cancelled.
func accounted(t *testing.T, r *results.Run) {
	t.Helper()
	for _, c := range r.Contenders {
		for _, rd := range append(slices.Clone(c.Rounds), c.Total) {
			if rd.OK+rd.Failed+rd.Cancelled != rd.Sent || rd.Sent+rd.Unsent != rd.Scheduled {
				t.Errorf("%s round %d: ok %d + failed %d + cancelled %d != sent %d, or + unsent %d != scheduled %d",
					c.Name, rd.Round, rd.OK, rd.Failed, rd.Cancelled, rd.Sent, rd.Unsent, rd.Scheduled)
			}
			var errs int64
			for _, n := range rd.Errors {
				errs += n
			}
			if errs != rd.Failed {
				t.Errorf("%s round %d: errors by kind %v add up to %d, failed %d", c.Name, rd.Round, rd.Errors, errs, rd.Failed)
			}
		}
	}
}

// TestPageConnectionCounts: h1 uses six connections and h2 one, by the
// client's count and by the server's, and every request is accounted for.
func TestPageConnectionCounts(t *testing.T) {
	sc := scenario(t, "page", func(s *results.Scenario) {
		s.Objects, s.Pages, s.Rounds, s.Delay = 30, 2, 2, results.Duration(20*time.Millisecond)
	})
	r := run(t, context.Background(), embedded(t, sc, "h1", "h2", "hey"))
	accounted(t, r)
	want := map[string]int64{"h1": 6, "h2": 1}
	for _, c := range r.Contenders {
		if len(c.Rounds) != 2 {
			t.Fatalf("%s ran %d rounds, want 2", c.Name, len(c.Rounds))
		}
		for _, rd := range c.Rounds {
			if rd.Server == nil {
				t.Fatalf("%s round %d has no server counts", c.Name, rd.Round)
			}
			if c.Name == "hey" {
				if rd.OK != 2*30 || rd.Page == nil || rd.Page.Count != 2 {
					t.Errorf("hey round %d: %d ok, page %+v", rd.Round, rd.OK, rd.Page)
				}
				continue
			}
			if rd.Client.Dials != want[c.Name] || rd.Server.ConnectionsAccepted != want[c.Name] || rd.Disagreement != "" {
				t.Errorf("%s round %d: client dialed %d, server accepted %d, want %d (%s)",
					c.Name, rd.Round, rd.Client.Dials, rd.Server.ConnectionsAccepted, want[c.Name], rd.Disagreement)
			}
			// Warm-up page plus two measured ones.
			if rd.OK != 60 || rd.Server.Requests != 90 || rd.Page.Count != 2 || len(rd.Sample) != 30 {
				t.Errorf("%s round %d: %d ok, server %d requests, %d pages, %d sampled", c.Name, rd.Round,
					rd.OK, rd.Server.Requests, rd.Page.Count, len(rd.Sample))
			}
			if rd.Model == nil || rd.Model.Turns != map[string]int{"h1": 5, "h2": 1}[c.Name] {
				t.Errorf("%s model %+v", c.Name, rd.Model)
			}
		}
	}
	if !strings.Contains(r.Verdict, "h2 (1 connection) loaded the 30-object page") || !strings.Contains(r.Verdict, "the server saw 1 vs 6 connections") {
		t.Errorf("verdict %q", r.Verdict)
	}
	if x, ok := r.Ratio("h2", "page p50"); !ok || x.Median >= 1 {
		t.Errorf("page p50 ratio h2/h1 = %+v, want below 1", x)
	}
	// The order rotates: h1 h2 hey, then h2 hey h1.
	for i, want := range [][]int{{1, 3}, {2, 1}, {3, 2}} {
		c := r.Contenders[i]
		if c.Rounds[0].Position != want[0] || c.Rounds[1].Position != want[1] {
			t.Errorf("%s at positions %d and %d, want %v", c.Name, c.Rounds[0].Position, c.Rounds[1].Position, want)
		}
		// Each one's model rests on a round trip measured on its own protocol.
		// hey's pages open their connections: one handshake each.
		if m := c.Total.Model; m == nil || m.RTT <= 0 || m.RTTError != "" ||
			m.Predicted != results.Duration(time.Duration(m.Turns)*(20*time.Millisecond+m.RTT.D()))+m.Handshake {
			t.Errorf("%s model %+v", c.Name, m)
		}
		if c.Total.CPU <= 0 || c.Total.CPUPerReqUS != float64(c.Total.CPU.D().Microseconds())/float64(c.Total.OK) {
			t.Errorf("%s cpu %v, %v µs per request", c.Name, c.Total.CPU, c.Total.CPUPerReqUS)
		}
	}
	if r.Baseline != "h1" || r.Target.CPUScope != "client + embedded server" {
		t.Errorf("baseline %q, cpu scope %q", r.Baseline, r.Target.CPUScope)
	}
}

// TestHDRPercentilesMatchSamples: the histogram's percentiles agree with
// those computed from the sorted latencies of the sampled page.
func TestHDRPercentilesMatchSamples(t *testing.T) {
	sc := scenario(t, "page", func(s *results.Scenario) {
		s.Objects, s.Pages, s.Rounds, s.Warmup = 50, 1, 1, 0
		s.Delay = results.Duration(5 * time.Millisecond)
	})
	r := run(t, context.Background(), embedded(t, sc, "h1", "h2"))
	for _, c := range r.Contenders {
		rd := c.Rounds[0]
		// The waterfall draws the sample; the table reads the histograms.
		// Both measure latency from the page's start, launch delay to the
		// request's hand-over to the client, and wait from there.
		figures := map[string]struct {
			d   *results.Dist
			val func(results.Timing) int64
		}{
			"latency": {rd.Latency, func(s results.Timing) int64 { return s.EndUS }},
			"launch":  {rd.Lag, func(s results.Timing) int64 { return s.StartUS }},
			"wait":    {rd.Wait, func(s results.Timing) int64 { return s.SentUS - s.StartUS }},
		}
		for name, f := range figures {
			var v []float64
			for _, s := range rd.Sample {
				v = append(v, float64(f.val(s))/1000)
			}
			slices.Sort(v)
			rank := func(p float64) float64 { return v[int(math.Ceil(p/100*float64(len(v))))-1] }
			for _, tc := range []struct {
				name      string
				got, want float64
			}{
				{"p50", f.d.P50, rank(50)}, {"p90", f.d.P90, rank(90)}, {"p99", f.d.P99, rank(99)}, {"max", f.d.Max, v[len(v)-1]},
			} {
				// HDR keeps three significant digits; times are truncated to
				// µs, and the sample's end, start and hand-over each once.
				if math.Abs(tc.got-tc.want) > tc.want*0.001+0.003 {
					t.Errorf("%s %s %s: histogram %.3f ms, sorted samples %.3f ms", c.Name, name, tc.name, tc.got, tc.want)
				}
			}
		}
	}
}

// TestStatusesKeptApart: non-2xx answers are failures counted by status and
// stay out of the latency of successes.
func TestStatusesKeptApart(t *testing.T) {
	sc := scenario(t, "latency", func(s *results.Scenario) {
		s.Requests, s.Concurrency, s.Rounds, s.Warmup, s.Delay = 40, 4, 1, 0, 0
		s.SlowEvery, s.SlowDelay = 4, 0
	})
	sc.Query = "status=503"
	r := run(t, context.Background(), embedded(t, sc, "h1", "h2"))
	accounted(t, r)
	for _, c := range r.Contenders {
		rd := c.Rounds[0]
		if rd.Failed != 40 || rd.OK != 0 || rd.Statuses["503"] != 40 || rd.Errors["status 503"] != 40 || rd.Latency.Count != 0 {
			t.Errorf("%s: %+v", c.Name, rd)
		}
	}
	if !strings.HasPrefix(r.Verdict, "no verdict") {
		t.Errorf("verdict %q from a run with no success", r.Verdict)
	}
}

// stallServer answers at once, except that the request numbered stallAt
// holds every request for one second.
func stallServer(t *testing.T, stallAt int64) string {
	var n atomic.Int64
	var mu sync.RWMutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == stallAt {
			mu.Lock()
			time.Sleep(time.Second)
			mu.Unlock()
		}
		mu.RLock() // waits for a stall to end
		defer mu.RUnlock()
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestOpenLoopShowsStall: a one-second stall shows in the open loop's p99,
// because latency counts from each request's intended start; a closed loop
// sends nothing during the stall and hides it.
func TestOpenLoopShowsStall(t *testing.T) {
	lat := func(mode results.Mode) *results.Dist {
		sc := results.Scenario{Name: "stall", Mode: mode, Endpoint: "/", Requests: 200, Concurrency: 1,
			Rate: 100, Rounds: 1, Conns: 1}
		if mode == results.Open {
			sc.Concurrency = 200
		}
		url := stallServer(t, 60)
		r := run(t, context.Background(), bench.Options{Scenario: sc, Contenders: []string{"h1"}, Targets: targets(t, url, "")})
		return r.Contenders[0].Total.Latency
	}
	closed, open := lat(results.Closed), lat(results.Open)
	if closed.Max < 1000 || closed.P99 >= 500 {
		t.Errorf("closed loop: p99 %.1f ms, max %.1f ms; want the stall only in max", closed.P99, closed.Max)
	}
	if open.P99 < 500 {
		t.Errorf("open loop: p99 %.1f ms, want the one-second stall to show (at least 500 ms)", open.P99)
	}
}

// TestInterruptedRun: cancelling mid-run gives a result marked interrupted,
// with every request accounted for, that writes and reads back.
func TestInterruptedRun(t *testing.T) {
	sc := scenario(t, "latency", func(s *results.Scenario) {
		s.Requests, s.Rounds, s.Delay = 1_000_000, 3, results.Duration(20*time.Millisecond)
	})
	ctx, cancel := context.WithCancel(context.Background())
	opts := embedded(t, sc, "h1", "h2")
	opts.Progress = func(p bench.Progress) {
		if p.Done > 200 {
			cancel()
		}
	}
	r := run(t, ctx, opts)
	if !r.Interrupted || !strings.HasPrefix(r.Verdict, "interrupted") && !strings.HasPrefix(r.Verdict, "no verdict") {
		t.Errorf("interrupted %v, verdict %q", r.Interrupted, r.Verdict)
	}
	accounted(t, r)
	first := r.Contenders[0].Rounds[0]
	if !first.Interrupted || first.Cancelled == 0 || first.OK == 0 {
		t.Errorf("first round: %+v; want interrupted with some ok and some cancelled", first)
	}
	dir := t.TempDir()
	path, err := results.Write(dir, r)
	if err != nil {
		t.Fatal(err)
	}
	back, err := results.Read(path)
	if err != nil || !back.Interrupted || back.Contenders[0].Rounds[0].Sent != first.Sent {
		t.Errorf("read back: %v, interrupted %v", err, back != nil && back.Interrupted)
	}
}

func TestBadOptions(t *testing.T) {
	good := scenario(t, "latency", func(s *results.Scenario) {})
	tests := []struct {
		name string
		edit func(*bench.Options)
		want string
	}{
		{"contender", func(o *bench.Options) { o.Contenders = []string{"h4"} }, `unknown contender "h4"; valid: h1, h2, h3, sidecar-h2, sidecar-h3, hey`},
		{"no h3 target", func(o *bench.Options) { o.Contenders = []string{"h1", "h3"} }, "contender h3 needs a target for the server's h3 listener"},
		{"no tls target", func(o *bench.Options) { o.Contenders, o.TLS = []string{"h1"}, true }, "contender h1 needs a target for the server's h1_tls listener"},
		{"twice", func(o *bench.Options) { o.Contenders = []string{"h1", "h1"} }, "named twice"},
		{"concurrency", func(o *bench.Options) { o.Scenario.Concurrency = 0 }, "concurrency 0 is out of range"},
		{"rate", func(o *bench.Options) {
			o.Scenario.Mode, o.Scenario.Rate, o.Contenders = results.Open, -1, []string{"h1"}
		}, "rate -1 is out of range"},
		{"hey open", func(o *bench.Options) {
			o.Scenario.Mode, o.Scenario.Rate, o.Contenders = results.Open, 10, []string{"h1", "hey"}
		}, "hey cannot start requests at a fixed rate"},
		{"no target", func(o *bench.Options) { o.Targets = o.Targets[1:] }, "contender h1 needs a target for the server's h1 listener"},
		{"no server", func(o *bench.Options) {
			o.Targets, o.Contenders = targets(t, deadURL(t), deadURL(t)), []string{"h1", "h2"}
		}, "connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := bench.Options{Scenario: good, Targets: targets(t, "http://127.0.0.1:1", "http://127.0.0.1:1")}
			tc.edit(&opts)
			if _, err := bench.Run(context.Background(), opts); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestWrongProtocol: an HTTP/1.1-only URL given as the h2c URL is refused
// before anything is measured.
func TestWrongProtocol(t *testing.T) {
	opts := embedded(t, scenario(t, "latency", func(*results.Scenario) {}), "h1", "h2")
	opts.Targets[1].Addr, opts.Targets[1].URL = opts.Targets[0].Addr, opts.Targets[0].URL
	_, err := bench.Run(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "is it an HTTP/1.1-only listener?") {
		t.Errorf("err = %v", err)
	}
}

func deadURL(t *testing.T) string {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	return url
}

func TestScenariosAreValid(t *testing.T) {
	for _, sc := range bench.Scenarios() {
		sc.Conns = 6
		if err := bench.Validate(&sc); err != nil {
			t.Errorf("%s: %v", sc.Name, err)
		}
	}
	if _, err := bench.Lookup("nope"); err == nil || !strings.Contains(err.Error(), "valid: web, lossy, page, latency, hol, balance, carts, throughput, bulk, stream") {
		t.Errorf("Lookup(nope) = %v", err)
	}
	// A scenario's network is a profile the link knows.
	for _, name := range bench.ScenarioNames() {
		if _, err := link.LookupProfile(bench.ScenarioNet(name)); err != nil {
			t.Errorf("%s runs over %q: %v", name, bench.ScenarioNet(name), err)
		}
	}
	if bench.ScenarioNet("web") != "4g" || bench.ScenarioNet("page") != "loopback" {
		t.Errorf("web over %q, page over %q", bench.ScenarioNet("web"), bench.ScenarioNet("page"))
	}
}
