package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"muxlab/h2client"
	"muxlab/h3client"
	"muxlab/internal/muxtest"
	"muxlab/mux"
	"muxlab/results"
)

// syncBuffer is a bytes.Buffer safe to write from one goroutine and read from another.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeBadUsage(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	junk := filepath.Join(t.TempDir(), "junk.pem")
	os.WriteFile(junk, []byte("not a certificate"), 0o644)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"serve", "--max-streams", "0"}, "--max-streams: 0 is out of range"},
		{[]string{"serve", "--max-streams", "many"}, `"--max-streams"`},
		{[]string{"serve", "--conn-window", "12parsecs"}, `"--conn-window"`},
		{[]string{"serve", "--conn-window", "1KiB"}, "--conn-window: 1024 is out of range"},
		{[]string{"serve", "--read-header-timeout", "0s"}, "--read-header-timeout"},
		{[]string{"serve", "--h1", "nonsense"}, `--h1: "nonsense" is not an address`},
		{[]string{"serve", "--h1", "", "--h2c", ""}, "nothing to serve"},
		{[]string{"serve", "--h1", busy.Addr().String(), "--h2c", ""}, "--h1: cannot listen on " + busy.Addr().String()},
		{[]string{"serve", "extra"}, `unexpected argument "extra"`},
		{[]string{"serve", "--h1-tls", "127.0.0.1:0"}, "--h1-tls goes with --demo"},
		{[]string{"serve", "--cert", "x.pem", "--key", "x.key"}, "--cert goes with --demo or --h3"},
		{[]string{"serve", "--h3", "127.0.0.1:0", "--h1", "", "--h2c", ""}, "--h3 needs a TCP listener beside it"},
		{[]string{"serve", "--h3", "nowhere"}, `--h3: "nowhere" is not an address`},
		{[]string{"serve", "--h3-max-streams", "5"}, "--h3-max-streams goes with --h3"},
		{[]string{"serve", "--h3", "127.0.0.1:0", "--h3-max-streams", "0"}, "--h3-max-streams: 0 is out of range"},
		{[]string{"serve", "--demo", "--cert", "/nonexistent/cert.pem", "--key", "/nonexistent/key.pem"}, "--cert: /nonexistent/cert.pem:"},
		{[]string{"serve", "--demo", "--cert", junk, "--key", junk}, "--cert: " + junk + ": no PEM CERTIFICATE block"},
		{[]string{"serve", "--demo", "--cert", junk}, "--cert and --key go together"},
		{[]string{"serve", "--demo", "--h2-tls", "nowhere"}, `--h2-tls: "nowhere" is not an address`},
		{[]string{"nosuchcommand"}, `unknown command "nosuchcommand"`},
		{[]string{"serve", "--net", "moon"}, `--net: "moon" is not a network profile`},
		{[]string{"serve", "--seed", "7"}, "--seed: only for an emulated network"},
		{[]string{"serve", "--rtt", "40ms", "--stack", "gvisor"}, `--stack: "gvisor" is not one of auto, kernel, userspace`},
		{[]string{"serve", "--net", "4g", "--h1", busy.Addr().String(), "--h2c", ""}, "--h1: cannot listen on " + busy.Addr().String()},
		{[]string{"serve", "--backends", "0", "--balance", "l7"}, "--balance goes with --backends"},
		{[]string{"serve", "--backends", "65"}, "--backends: 65 is out of range; allowed 1 to 64"},
		{[]string{"serve", "--backends", "-1"}, "--backends: -1 is out of range"},
		{[]string{"serve", "--backends", "3", "--balance", "l5"}, `--balance: "l5": want l4 (connections) or l7 (requests)`},
		{[]string{"serve", "--backends", "3", "--policy", "random"}, `--policy: "random"`},
		{[]string{"serve", "--backends", "3", "--balance", "l7", "--policy", "least-conns"}, "--policy is for --balance l4"},
		{[]string{"serve", "--backends", "3", "--sticky"}, "--sticky needs --balance l7"},
		{[]string{"serve", "--backends", "3", "--demo"}, "--backends serves plain backends"},
		{[]string{"serve", "--backends", "3", "--front-stats", "nowhere"}, `--front-stats: "nowhere" is not an address`},
		{[]string{"serve", "--backends", "3", "--h1", busy.Addr().String()}, "--h1: cannot listen on " + busy.Addr().String()},
		{[]string{"serve", "--work-slots", "2000"}, "--work-slots: 2000 is out of range"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != exitUsage || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, stderr.String(), tc.want)
			}
		})
	}
}

// TestServeRunsAndStopsOnSignal: serve prints its URLs, answers on them, and
// on cancellation (what SIGINT does) finishes an in-flight request, exiting 0.
func TestServeRunsAndStopsOnSignal(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"serve", "--h1", "127.0.0.1:0", "--h2c", "127.0.0.1:0"}, &stdout, &stderr)
	}()
	urlRe := regexp.MustCompile(`HTTP/1\.1 only:\s+(http://\S+)/`)
	var base string
	muxtest.WaitFor(t, 5*time.Second, "the server's URL on stdout", func() bool {
		if m := urlRe.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
		}
		return base != ""
	})
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get(base + "/echo?delay=300ms&size=10")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- resp.Status + " " + string(b)
	}()
	// Cancel once the server has the request in flight (the /stats request
	// asking is in flight too).
	muxtest.WaitFor(t, 5*time.Second, "the delayed request to arrive", func() bool { return inFlight(t, base) >= 2 })
	cancel()
	if c := <-code; c != exitOK {
		t.Errorf("exit %d, stderr %q", c, stderr.String())
	}
	if r := <-got; r != "200 OK muxlab-012" {
		t.Errorf("in-flight request got %q", r)
	}
	if !strings.Contains(stdout.String(), "shutting down") {
		t.Errorf("stdout %q does not say it is shutting down", stdout.String())
	}
}

// TestServeBackends: serve --backends 3 answers through its front, each
// response naming its backend, and the front's /stats counts each one;
// layer 4 pins HTTP/2's one connection to one backend, layer 7 spreads its
// requests over the three.
func TestServeBackends(t *testing.T) {
	for _, mode := range []string{"l4", "l7"} {
		t.Run(mode, func(t *testing.T) {
			_, h2c, stats, stop := startFront(t, mode)
			defer stop()
			c, err := h2client.New(h2client.Options{Addr: h2c})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			seen := map[string]int{}
			for range 30 {
				req, _ := http.NewRequest(http.MethodGet, "http://"+h2c+"/work?us=100", nil)
				resp, err := c.Do(req, nil)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				seen[resp.Header.Get(mux.HeaderBackend)]++
			}
			if want := map[string]int{"l4": 1, "l7": 3}[mode]; len(seen) != want {
				t.Errorf("h2 behind %s reached %v; want %d backends", mode, seen, want)
			}
			body, err := httpGet(stats)
			if err != nil {
				t.Fatal(err)
			}
			var st struct {
				Mode     string
				Backends []struct {
					Name string
					Own  struct{ Requests int64 }
				}
			}
			if err := json.Unmarshal([]byte(body), &st); err != nil {
				t.Fatalf("%v in %q", err, body)
			}
			total := int64(0)
			for _, b := range st.Backends {
				total += b.Own.Requests
				if b.Own.Requests != int64(seen[b.Name]) {
					t.Errorf("backend %s counted %d requests, answered %d", b.Name, b.Own.Requests, seen[b.Name])
				}
			}
			if st.Mode != mode || len(st.Backends) != 3 || total != 30 {
				t.Errorf("front stats %s", body)
			}
			stop()
		})
	}
}

// startFront runs muxlab serve --backends 3 --balance mode on free ports
// and returns its h1 and h2c addresses and its stats URL; stop ends it
// (once), failing the test unless it exits 0.
func startFront(t *testing.T, mode string) (h1, h2c, stats string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"serve", "--backends", "3", "--balance", mode, "--h1", "127.0.0.1:0", "--h2c", "127.0.0.1:0",
			"--front-stats", "127.0.0.1:0"}, &stdout, &stderr)
	}()
	re := regexp.MustCompile(`HTTP/1\.1:\s+http://(\S+)/[\s\S]*h2c:\s+http://(\S+)/[\s\S]*counts: (http://\S+/stats)`)
	var m []string
	muxtest.WaitFor(t, 5*time.Second, "the front's addresses on stdout", func() bool {
		m = re.FindStringSubmatch(stdout.String())
		return m != nil
	})
	var once sync.Once
	return m[1], m[2], m[3], func() {
		once.Do(func() {
			cancel()
			if c := <-code; c != exitOK {
				t.Errorf("serve --backends exit %d, stderr %q", c, stderr.String())
			}
		})
	}
}

func inFlight(t *testing.T, base string) int64 {
	resp, err := http.Get(base + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st mux.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st.Listeners[mux.ListenerH1].InFlight
}

func waitServing(t *testing.T, out *syncBuffer) {
	t.Helper()
	muxtest.WaitFor(t, 5*time.Second, "the server to print its URLs", func() bool { return strings.Contains(out.String(), "http://") })
}

func httpGet(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// Behind --net every listener is reached at its own address on this
// machine across the emulated link: a request takes the link's round trips
// (the forwarder's connect, then the request), HTTP/3 crosses it too, and
// the demo page names the network.
func TestServeBehindNetwork(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"serve", "--demo", "--h1", "127.0.0.1:0", "--h2c", "127.0.0.1:0", "--h1-tls", "127.0.0.1:0",
			"--h2-tls", "127.0.0.1:0", "--h3", "127.0.0.1:0", "--rtt", "100ms"}, &stdout, &stderr)
	}()
	find := func(re string) string {
		var got string
		muxtest.WaitFor(t, 10*time.Second, "the server's URLs on stdout", func() bool {
			if m := regexp.MustCompile(re).FindStringSubmatch(stdout.String()); m != nil {
				got = m[1]
			}
			return got != ""
		})
		return got
	}
	h1 := find(`HTTP/1\.1 only:\s+(http://127\.0\.0\.1:\d+)/`)
	start := time.Now()
	if body, err := httpGet(h1 + "/hello"); err != nil || body == "" {
		t.Fatalf("GET /hello behind the network: %q, %v", body, err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("a first request took %v behind a 100ms round trip, less than the two it needs", d)
	}
	demo := find(`open (https://127\.0\.0\.1:\d+/demo)`)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Get(demo)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "Network between this browser and the server: custom, emulated: 100ms round trip") {
		t.Errorf("the demo page does not name its network:\n%s", page)
	}
	h3 := find(`HTTP/3 \(QUIC, UDP\):\s+(https://127\.0\.0\.1:\d+)/`)
	client, err := h3client.New(h3client.Options{Addr: strings.TrimPrefix(h3, "https://"), TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h3+"/hello", nil)
	start = time.Now()
	r3, err := client.Do(req, nil)
	if err != nil {
		t.Fatalf("HTTP/3 behind the network: %v", err)
	}
	io.Copy(io.Discard, r3.Body)
	r3.Body.Close()
	if d := time.Since(start); d < 100*time.Millisecond || r3.StatusCode != http.StatusOK {
		t.Errorf("HTTP/3: %d after %v; want 200 after at least the 100ms round trip", r3.StatusCode, d)
	}
	cancel()
	if c := <-code; c != exitOK {
		t.Errorf("exit %d, stderr %q", c, stderr.String())
	}
}

// The done-when of balancing, end to end: muxlab serve --backends 3 and a
// balance run against it with h1 and h2, the backends' own counts read
// from the front: behind layer 4 h1 spreads and h2 lands on one backend;
// behind layer 7 both spread.
func TestBenchAgainstServeBackends(t *testing.T) {
	for _, mode := range []string{"l4", "l7"} {
		t.Run(mode, func(t *testing.T) {
			h1, h2c, stats, stop := startFront(t, mode)
			defer stop()
			m := []string{"", "http://" + h1, "http://" + h2c, stats}
			var out, errOut bytes.Buffer
			c := run(context.Background(), []string{"bench", "--scenario", "balance", "--contenders", "h1,h2", "--h1-url", m[1], "--h2c-url", m[2],
				"--front-stats", m[3], "--rounds", "1", "--rate", "200", "--requests", "300", "--json"}, &out, &errOut)
			if c != exitOK {
				t.Fatalf("bench exit %d: %s", c, errOut.String())
			}
			var r results.Run
			if err := json.Unmarshal(out.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"h1", "h2"} {
				tot := r.Contender(name).Total
				lo, hi := 1.0, 2.0
				if mode == "l4" && name == "h2" {
					lo, hi = 3, 3
				} else if mode == "l7" {
					hi = 1.1
				}
				counted := len(tot.Backends) == 3
				for _, b := range tot.Backends {
					counted = counted && b.Counted
				}
				if tot.Skew < lo || tot.Skew > hi || !counted {
					t.Errorf("%s behind %s: skew %.2f, backends %+v; want %.1f to %.1f by the backends' own counts", name, mode, tot.Skew, tot.Backends, lo, hi)
				}
			}
		})
	}
}
