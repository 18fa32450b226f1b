package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"muxlab/bench"
	"muxlab/internal/muxtest"
	"muxlab/link"
	"muxlab/mux"
	"muxlab/mux/h3"
	"muxlab/results"
)

func TestBenchBadUsage(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o644)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--scenario", "nope"}, `--scenario: "nope" is not a scenario; valid: web, lossy, page, latency, hol, balance, carts, throughput, bulk, stream`},
		{[]string{"--contenders", "h1,h4"}, `--contenders: "h4" is not a contender; valid: h1, h2, h3, sidecar-h2, sidecar-h3, hey`},
		{[]string{"--scenario", "latency", "-c", "0"}, "--concurrency: 0 is out of range; allowed 1 to 10000"},
		{[]string{"--scenario", "latency", "--rate", "-1", "--contenders", "h1"}, "--rate: -1 is out of range"},
		{[]string{"--objects", "100000"}, "--objects: 100000 is out of range; allowed 1 to 10000"},
		{[]string{"--conns", "0"}, "--conns: 0 is out of range"},
		{[]string{"--scenario", "latency", "--rate", "100", "--contenders", "h1,hey"}, "--contenders: hey cannot start requests at a fixed rate"},
		{[]string{"--delay", "31s"}, "--delay: 31s is out of range"},
		{[]string{"--size", "1parsec"}, `"--size"`},
		{[]string{"-c", "5"}, "--concurrency: the page scenario requests whole pages at once"},
		{[]string{"--scenario", "latency", "--pages", "5"}, "--pages: only for the page scenario"},
		{[]string{"--h1-url", "http://127.0.0.1:1", "--contenders", "h1,h2"}, "--contenders: h2 needs --h2c-url, the server to measure for it"},
		{[]string{"--out", filepath.Join(blocker, "sub")}, "--out:"},
		{[]string{"--timeout", "0s"}, "--timeout"},
		{[]string{"--bogus"}, "unknown flag: --bogus"},
		{[]string{"--loss", "150%"}, `invalid argument "150%" for "--loss" flag: link: loss "150%" is out of range; allowed 0 to less than 100%`},
		{[]string{"--rtt", "-5ms"}, "--rtt: -5ms is out of range; allowed 0s to 20s"},
		{[]string{"--jitter", "11s"}, "--jitter: 11s is out of range; allowed 0s to 10s"},
		{[]string{"--bandwidth", "0"}, `invalid argument "0" for "--bandwidth" flag: link: bandwidth "0" is out of range; allowed 300bit/s to 100Gbit/s`},
		{[]string{"--bandwidth", "10MB/s"}, `"--bandwidth" flag: link: bandwidth "10MB/s": give bits per second`},
		{[]string{"--net", "moon"}, `--net: "moon" is not a network profile; valid: loopback, lan,`},
		{[]string{"--queue", "100"}, "--queue: 100 is out of range; allowed one packet (1500 bytes) to 1GiB"},
		{[]string{"--loss-burst", "5000"}, "--loss-burst: 5000 is out of range"},
		{[]string{"--congestion-control", "vegas"}, `--congestion-control: "vegas" is not one of`},
		{[]string{"--stack", "gvisor"}, `--stack: "gvisor" is not one of auto, kernel, userspace`},
		{[]string{"--stack", "userspace", "--congestion-control", "bbr"}, `--congestion-control: "bbr" is not one of cubic, reno on the userspace stack`},
		{[]string{"--scenario", "latency", "--contenders", "h1,chromium-h2"}, "--contenders: chromium-h2 loads pages: use a page scenario"},
		{[]string{"--scenario", "page", "--seed", "7"}, "--seed: only for an emulated network; --net loopback is the machine's own"},
		{[]string{"--scenario", "latency", "--cold"}, "--cold: only for the page scenario"},
		{[]string{"--pipeline-depth", "0"}, "--pipeline-depth: 0 is out of range; allowed 1 to 10000"},
		{[]string{"--pipeline-conns", "1001"}, "--pipeline-conns: 1001 is out of range; allowed 1 to 1000"},
		{[]string{"--scenario", "latency", "--balance", "l7"}, "--balance goes with backends"},
		{[]string{"--scenario", "latency", "--stop-backend"}, "--stop-backend goes with backends"},
		{[]string{"--scenario", "balance", "--balance", "l5"}, `--balance: "l5": want l4 (connections) or l7 (requests)`},
		{[]string{"--scenario", "balance", "--backends", "65"}, "--backends: 65 is out of range; allowed 0 to 64"},
		{[]string{"--scenario", "balance", "--sticky"}, "--sticky: needs balance l7"},
		{[]string{"--scenario", "balance", "--backends", "1", "--stop-backend"}, "--stop-backend: needs at least 2 backends"},
		{[]string{"--scenario", "carts", "--carts", "sometimes"}, `--carts: "sometimes": want stateful, stateless or both`},
		{[]string{"--scenario", "carts", "--cart-items", "101"}, "--cart-items: 101 is out of range; allowed 0 to 100"},
		{[]string{"--scenario", "page", "--carts", "both"}, "--carts: users fill carts in a closed loop"},
		{[]string{"--scenario", "balance", "--contenders", "h3"}, "h3 cannot run behind the balancing front"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"bench", "-q", "--out", t.TempDir()}, tc.args...), &stdout, &stderr)
			if code != exitUsage || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, stderr.String(), tc.want)
			}
		})
	}
}

// TestBenchUnreachableServer: a URL that does not answer, or answers in the
// wrong protocol, exits 1 with a clear message and writes no file.
func TestBenchUnreachableServer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	dead := srv.URL
	srv.Close()
	h1only := httptest.NewServer(http.NotFoundHandler())
	defer h1only.Close()
	for _, tc := range []struct {
		name    string
		h1, h2c string
		want    string
	}{
		{"refused", dead, dead, "connection refused"},
		{"wrong protocol", h1only.URL, h1only.URL, "is it an HTTP/1.1-only listener?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"bench", "-q", "--out", out, "--h1-url", tc.h1, "--h2c-url", tc.h2c}, &stdout, &stderr)
			if code != exitFailure || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 1 and %q", code, stderr.String(), tc.want)
			}
			if entries, _ := os.ReadDir(out); len(entries) != 0 {
				t.Errorf("%d files left in --out", len(entries))
			}
		})
	}
}

// TestBenchRuns: a small run against the embedded server prints the table
// and verdict and writes a result file that reads back.
func TestBenchRuns(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--scenario", "page", "--objects", "12", "--pages", "1", "--rounds", "1", "--delay", "10ms",
		"--label", "first try", "--out", out}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"h1 (6 connections)", "h2 (1 connection)", "h3 (1 connection)", "hey (6 workers)", "page p50 ms",
		"connections (server)", "h2 (1 connection) loaded the 12-object page"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	files, _ := filepath.Glob(filepath.Join(out, "*-page-*.json"))
	if len(files) != 1 || !strings.Contains(stderr.String(), "result written to "+files[0]) {
		t.Fatalf("files %v, stderr %q", files, stderr.String())
	}
	r, err := results.Read(files[0])
	if err != nil || r.Interrupted || len(r.Contenders) != len(bench.DefaultContenderNames()) || r.Label != "first try" {
		t.Errorf("result: %v", err)
	}
}

func TestBenchJSONAndList(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"bench", "--list"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("--list: exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	nc, ns := len(bench.ContenderNames()), len(bench.ScenarioNames())
	if len(lines) != 1+ns+1+nc+1+len(link.Profiles()) || !strings.HasPrefix(lines[1], "  web ") || !strings.HasPrefix(lines[2+ns], "  h1 ") ||
		!strings.HasPrefix(lines[3+ns+nc], "  loopback ") || !strings.Contains(stdout.String(), "source: WebPageTest") {
		t.Errorf("--list printed %q", stdout.String())
	}
	stdout.Reset()
	code := run(context.Background(), []string{"bench", "-q", "--json", "--scenario", "throughput", "-n", "200",
		"--rounds", "1", "--contenders", "h2,h1", "--out", t.TempDir()}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var r results.Run
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil || r.SchemaVersion != results.SchemaVersion || r.Contenders[0].Name != "h2" {
		t.Errorf("--json output: %v", err)
	}
}

// TestBenchInterrupted: Ctrl-C (a cancelled context) writes what was
// measured, marked interrupted, and exits 130.
func TestBenchInterrupted(t *testing.T) {
	srv, err := mux.New(mux.Options{H1Addr: "127.0.0.1:0", H2CAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer srv.Close()
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"bench", "-q", "--scenario", "latency", "-n", "10000000", "--out", out,
			"--h1-url", srv.URL(mux.ListenerH1), "--h2c-url", srv.URL(mux.ListenerH2C)}, &stdout, &stderr)
	}()
	// Interrupt once the run is measuring.
	muxtest.WaitFor(t, 30*time.Second, "200 requests measured", func() bool { return srv.Stats().Listeners[mux.ListenerH1].Requests >= 200 })
	cancel()
	if code := <-done; code != exitInterrupted {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.json"))
	all, _ := os.ReadDir(out)
	if len(files) != 1 || len(all) != 1 {
		t.Fatalf("files %v (%d entries): want exactly one result and no temporary file", files, len(all))
	}
	r, err := results.Read(files[0])
	if err != nil || !r.Interrupted || !strings.Contains(stdout.String(), "INTERRUPTED") {
		t.Errorf("result %v, interrupted %v; stdout %q", err, r != nil && r.Interrupted, stdout.String())
	}
	if r != nil && r.Target.GroundTruth != "GET /stats" {
		t.Errorf("ground truth %q, want GET /stats from the remote mux server", r.Target.GroundTruth)
	}
}

// TestBenchInterruptedBeforeMeasuring: Ctrl-C before anything was measured
// exits 130 and writes nothing.
func TestBenchInterruptedBeforeMeasuring(t *testing.T) {
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	if code := run(ctx, []string{"bench", "-q", "--scenario", "page", "--out", out}, &stdout, &stderr); code != exitInterrupted {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	if all, _ := os.ReadDir(out); len(all) != 0 {
		t.Errorf("%d files written", len(all))
	}
}

// TestBenchOutputBecomesUnwritable: --out checked at the start but gone by
// the end is a clear error (exit 1) and leaves no partial file.
func TestBenchOutputBecomesUnwritable(t *testing.T) {
	srv, err := mux.New(mux.Options{H1Addr: "127.0.0.1:0", H2CAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer srv.Close()
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), []string{"bench", "-q", "--scenario", "latency", "--duration", "1s",
			"--rounds", "1", "--contenders", "h1", "--out", out,
			"--h1-url", srv.URL(mux.ListenerH1), "--h2c-url", srv.URL(mux.ListenerH2C)}, &stdout, &stderr)
	}()
	muxtest.WaitFor(t, 30*time.Second, "20 requests measured", func() bool { return srv.Stats().Listeners[mux.ListenerH1].Requests >= 20 })
	// The directory is replaced by a file: nothing can be written there now.
	if err := os.Remove(out); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(out, []byte("in the way"), 0o644)
	if code := <-done; code != exitFailure || !strings.Contains(stderr.String(), "results: writing "+out) {
		t.Errorf("exit %d, stderr %q; want exit 1 naming %s", code, stderr.String(), out)
	}
	entries, _ := os.ReadDir(parent)
	if len(entries) != 1 {
		t.Errorf("%d entries in %s, want only the file in the way", len(entries), parent)
	}
}

// TestBenchHTTP3BadTargets: an h3 URL at a TCP-only port or at a silent UDP
// port fails within the dial timeout saying a QUIC handshake over UDP was
// tried, and a certificate that does not verify is named unless --insecure.
func TestBenchHTTP3BadTargets(t *testing.T) {
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	srv, err := mux.New(mux.Options{H1Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer srv.Close()
	l, err := h3.Listen(srv, h3.Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	l.Start()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"tcp only", []string{"--h3-url", "https://" + tcp.Addr().String()}, exitFailure, "QUIC handshake with " + tcp.Addr().String() + " over UDP"},
		{"silent udp", []string{"--h3-url", "https://" + silent.LocalAddr().String()}, exitFailure, "no answer within the dial timeout"},
		{"untrusted", []string{"--h3-url", l.URL()}, exitFailure, "certificate does not verify: x509: certificate signed by unknown authority"},
		{"insecure", []string{"--h3-url", l.URL(), "--insecure"}, exitOK, "note: --insecure: the servers' certificates were not verified"},
		{"h3 named without a url", []string{"--h1-url", srv.URL(mux.ListenerH1), "--h2c-url", srv.URL(mux.ListenerH1), "--contenders", "h1,h3"}, exitUsage, "--contenders: h3 needs --h3-url"},
		{"http h3 url", []string{"--h3-url", "http://" + silent.LocalAddr().String()}, exitUsage, "--h3-url: \"http://"},
		{"insecure embedded", []string{"--insecure"}, exitUsage, "--insecure is for another server's certificates"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			var stdout, stderr bytes.Buffer
			args := append([]string{"bench", "-q", "--scenario", "latency", "-n", "20", "--rounds", "1", "--warmup", "0",
				"--dial-timeout", "1s", "--out", out}, tc.args...)
			// A guard, not a measure: were the 1s dial timeout ignored, the
			// run would end by this context and exit as interrupted.
			ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
			defer cancel()
			code := run(ctx, args, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String()+stdout.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr.String(), tc.code, tc.want)
			}
			if entries, _ := os.ReadDir(out); tc.code != exitOK && len(entries) != 0 {
				t.Errorf("%d files left in --out", len(entries))
			}
		})
	}
}

// TestBenchOneHTTPSURL: --url at the demo server's TLS listener that offers
// both protocols, verified with --cacert: h1 gets 6 connections and h2 one,
// by the server's count; without the certificate the run is refused naming
// the certificate problem, and nothing is written.
func TestBenchOneHTTPSURL(t *testing.T) {
	srv, err := mux.New(mux.Options{H1Addr: "127.0.0.1:0", H1TLSAddr: "127.0.0.1:0", H2TLSAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer srv.Close()
	cacert := filepath.Join(t.TempDir(), "ca.pem")
	f, err := os.Create(cacert)
	if err != nil {
		t.Fatal(err)
	}
	pem.Encode(f, &pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Certificate[0]})
	f.Close()
	url := srv.URL(mux.ListenerH2TLS)
	args := []string{"bench", "-q", "--json", "--scenario", "page", "--objects", "12", "--pages", "1", "--rounds", "1",
		"--contenders", "h1,h2", "--url", url}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), append(args, "--out", out), &stdout, &stderr); code != exitFailure ||
		!strings.Contains(stderr.String(), "certificate signed by unknown authority") {
		t.Errorf("unverified: exit %d, %q", code, stderr.String())
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("%d files written for a run that could not start", len(entries))
	}
	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), append(args, "--out", out, "--cacert", cacert), &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var r results.Run
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"h1": 6, "h2": 1}
	for _, c := range r.Contenders {
		if tot := c.Total; tot.OK != tot.Sent || tot.Server == nil || tot.Server.ConnectionsAccepted != want[c.Name] {
			t.Errorf("%s: ok %d of %d, server %+v; want %d connections", c.Name, tot.OK, tot.Sent, tot.Server, want[c.Name])
		}
	}
	for _, bad := range [][]string{{"--url", "ftp://x"}, {"--url", "http://127.0.0.1:1", "--tls"}} {
		stderr.Reset()
		if code := run(context.Background(), append([]string{"bench", "-q", "--out", out}, bad...), &stdout, &stderr); code != exitUsage ||
			!strings.Contains(stderr.String(), "--url") {
			t.Errorf("%v: exit %d, %q", bad, code, stderr.String())
		}
	}
}

// TestBenchURLList: --urls requests a page of the listed objects from
// their origin; a bad line is refused naming it, and so is a list of
// several origins.
func TestBenchURLList(t *testing.T) {
	srv, err := mux.New(mux.Options{BothAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer srv.Close()
	base := srv.URL(mux.ListenerBoth)
	dir := t.TempDir()
	var list strings.Builder
	list.WriteString("# twenty tiles\n\n")
	for i := range 20 {
		fmt.Fprintf(&list, "%s/tile/%d?size=%d\n", base, i, 100+i)
	}
	good := filepath.Join(dir, "page.txt")
	os.WriteFile(good, []byte(list.String()), 0o644)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"bench", "-q", "--json", "--scenario", "page", "--pages", "2", "--rounds", "1",
		"--contenders", "h1,h2", "--urls", good, "--out", dir}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var r results.Run
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Scenario.Paths) != 20 || r.Scenario.Objects != 20 || r.Scenario.Paths[3] != "/tile/3?size=103" || r.Scenario.Source != good {
		t.Errorf("scenario %+v", r.Scenario)
	}
	// The scenario and its model are the listed objects', not the page
	// scenario's own tiles (50 ms each at the server).
	if sc := r.Scenario; sc.Delay != 0 || sc.Size != 0 || len(sc.ObjectSizes) != 20 || sc.ObjectSizes[3] != 103 ||
		len(sc.ObjectDelays) != 20 || sc.ObjectDelays[3] != 0 || strings.Contains(sc.Summary, "50 ms") {
		t.Errorf("scenario: delay %v size %d, object sizes %v, delays %v, summary %q", sc.Delay, sc.Size, sc.ObjectSizes, sc.ObjectDelays, sc.Summary)
	}
	for _, c := range r.Contenders {
		if tot := c.Total; tot.OK != 2*20 || tot.Sent != 2*20 || tot.Page == nil || tot.Page.Count != 2 {
			t.Errorf("%s: ok %d of %d, page %+v", c.Name, tot.OK, tot.Sent, tot.Page)
		}
		if m := c.Total.Model; m == nil || m.TurnTime != m.RTT {
			t.Errorf("%s: model %+v; want turns of one round trip, the URLs asking no delay", c.Name, m)
		}
	}
	// Two origins, both answered by the one server given: each origin on
	// connections of its own.
	two := filepath.Join(dir, "two.txt")
	os.WriteFile(two, []byte("https://www.example.com/tile/1\nhttps://cdn.example.net/tile/2\nhttps://cdn.example.net/tile/3\n"), 0o644)
	stdout.Reset()
	if code := run(context.Background(), []string{"bench", "-q", "--json", "--scenario", "page", "--pages", "1", "--rounds", "1",
		"--contenders", "h1", "--urls", two, "--url", base, "--out", dir}, &stdout, &stderr); code != exitOK {
		t.Fatalf("two origins: exit %d: %s", code, stderr.String())
	}
	var r2 results.Run
	json.Unmarshal(stdout.Bytes(), &r2)
	if tot := r2.Contenders[0].Total; tot.OK != 3 || tot.Server == nil || tot.Server.ConnectionsAccepted != 3 || len(r2.Scenario.Hosts) != 3 {
		t.Errorf("two origins: ok %d, server %+v, hosts %v; want one connection per object spread over its origin's pool",
			tot.OK, tot.Server, r2.Scenario.Hosts)
	}
	for name, content := range map[string]string{
		"line 3: \"ftp://x/y\": the scheme must be http or https": "# c\n" + base + "/a\nftp://x/y\n",
		"2 origins":                    base + "/a\nhttps://example.com/b\n",
		"the list holds no URL":        "# nothing\n",
		"line 1: \"http://a/b#c\" has": "http://a/b#c\n",
	} {
		f := filepath.Join(dir, "bad.txt")
		os.WriteFile(f, []byte(content), 0o644)
		stderr.Reset()
		if code := run(context.Background(), []string{"bench", "-q", "--urls", f, "--out", dir}, &stdout, &stderr); code != exitUsage ||
			!strings.Contains(stderr.String(), name) {
			t.Errorf("%q: exit %d, %q; want 2 and %q", content, code, stderr.String(), name)
		}
	}
}

// TestBenchCPUProfile: --cpuprofile writes a profile; a path
// that cannot be written exits 2 naming the flag, before anything runs.
func TestBenchCPUProfile(t *testing.T) {
	prof := filepath.Join(t.TempDir(), "cpu.prof")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"bench", "-q", "--scenario", "throughput", "-n", "300", "--rounds", "1",
		"--contenders", "h1", "--out", t.TempDir(), "--cpuprofile", prof}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	b, err := os.ReadFile(prof)
	if err != nil || len(b) < 100 || b[0] != 0x1f || b[1] != 0x8b { // pprof's format is gzipped protobuf
		t.Errorf("profile: %d bytes, %v; want a gzipped pprof profile", len(b), err)
	}
	stderr.Reset()
	code = run(context.Background(), []string{"bench", "--cpuprofile", filepath.Join(t.TempDir(), "no", "such", "dir", "x")}, &stdout, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), "--cpuprofile") {
		t.Errorf("exit %d, %q; want 2 naming --cpuprofile", code, stderr.String())
	}
}
