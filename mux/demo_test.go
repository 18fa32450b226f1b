package mux_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"muxlab/internal/browsertest"
	"muxlab/internal/muxtest"
	"muxlab/mux"
)

var update = flag.Bool("update", false, "rewrite docs/demo.png from the browser test")

func startDemo(t *testing.T) *mux.Server {
	t.Helper()
	s, err := mux.New(mux.Options{H1TLSAddr: "127.0.0.1:0", H2TLSAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { s.Close() })
	return s
}

type demoPane struct {
	MS           float64        `json:"ms"`
	Failed       int            `json:"failed"`
	Protos       map[string]int `json:"protos"`
	Conns        int            `json:"conns"`
	TilesPerConn []int          `json:"tilesPerConn"`
	ServerTiles  int            `json:"serverTiles"`
	Idle         int64          `json:"idle"`
}

type demoResult struct {
	Load  string              `json:"load"`
	Panes map[string]demoPane `json:"panes"`
}

// TestDemoInChromium: a real browser opens six connections to the
// HTTP/1.1-only server and one to the HTTP/2 one, by the server's count, and
// with a 200 ms delay per tile the HTTP/2 pane finishes first.
func TestDemoInChromium(t *testing.T) {
	s := startDemo(t)
	ctx, ev := browsertest.New(t, browsertest.Options{IgnoreCertErrors: true, Width: 1000, Height: 790})
	const n = 100
	url := fmt.Sprintf("%s/demo?n=%d&delay=200ms", s.URL(mux.ListenerH1TLS), n)
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	res := waitDemoResult(t, ctx)
	h1, h2 := res.Panes["h1"], res.Panes["h2"]
	if h1.Failed+h2.Failed > 0 {
		t.Fatalf("tiles failed to load: %+v", res)
	}
	if h1.Conns != 6 || h1.Protos["http/1.1"] != n || len(h1.Protos) != 1 || h1.ServerTiles != n {
		t.Errorf("HTTP/1.1 pane: %+v; want 6 connections carrying %d tiles, all http/1.1", h1, n)
	}
	if h2.Conns != 1 || h2.Protos["h2"] != n || len(h2.Protos) != 1 || h2.ServerTiles != n {
		t.Errorf("HTTP/2 pane: %+v; want 1 connection carrying %d tiles, all h2", h2, n)
	}
	if h2.MS >= h1.MS {
		t.Errorf("HTTP/2 pane took %.0f ms, HTTP/1.1 pane %.0f ms: want HTTP/2 first", h2.MS, h1.MS)
	}
	// The page's figures are the server's own.
	server := s.DemoResult(res.Load)
	if got := len(server[mux.ListenerH1TLS].Connections); got != 6 {
		t.Errorf("server: %d h1_tls connections carried the load's tiles, want 6", got)
	}
	if got := len(server[mux.ListenerH2TLS].Connections); got != 1 {
		t.Errorf("server: %d h2_tls connections carried the load's tiles, want 1", got)
	}
	st := s.Stats().Listeners
	// The page's idle count is this load's: on a fresh server, all there are.
	if h2.Idle != st[mux.ListenerH2TLS].ConnectionsIdle || h1.Idle != st[mux.ListenerH1TLS].ConnectionsIdle {
		t.Errorf("idle connections shown %d and %d, the server's %d and %d", h1.Idle, h2.Idle,
			st[mux.ListenerH1TLS].ConnectionsIdle, st[mux.ListenerH2TLS].ConnectionsIdle)
	}
	if st[mux.ListenerH2TLS].Protos["HTTP/2.0"] < n || st[mux.ListenerH1TLS].Protos["HTTP/1.1"] < n {
		t.Errorf("server protocols: h1_tls %v, h2_tls %v", st[mux.ListenerH1TLS].Protos, st[mux.ListenerH2TLS].Protos)
	}
	if errs := ev.Errors(); len(errs) > 0 {
		t.Errorf("the browser logged errors: %q", errs)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(os.TempDir(), "muxlab-demo.png") // docs/demo.png is the three-pane test's
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s; HTTP/1.1 %.0f ms on %d connections, HTTP/2 %.0f ms on %d", shot, h1.MS, h1.Conns, h2.MS, h2.Conns)
}

// waitDemoResult waits for the demo page to publish what it measured.
func waitDemoResult(t *testing.T, ctx context.Context) demoResult {
	t.Helper()
	var raw string
	muxtest.WaitFor(t, 60*time.Second, "the demo to finish loading", func() bool {
		var err error
		if raw, err = chromedp.Run(ctx, chromedp.Evaluate[string](`window.demoResult ? JSON.stringify(window.demoResult) : ""`)); err != nil {
			t.Fatal(err)
		}
		return raw != ""
	})
	var res demoResult
	if err := json.Unmarshal([]byte(raw), &res); err != nil {
		t.Fatal(err)
	}
	return res
}

func TestDemoBadInput(t *testing.T) {
	s := startDemo(t)
	client := tlsClient()
	base := s.URL(mux.ListenerH1TLS)
	for _, tc := range []struct {
		path, want string
	}{
		{"/demo?n=0", `n: "0" is out of range; allowed 1 to 1000`},
		{"/demo?n=1001", `n: "1001" is out of range; allowed 1 to 1000`},
		{"/demo?n=many", `n: "many" is not a whole number`},
		{"/demo?delay=31s", `delay: "31s" is out of range; allowed 0 to 30s`},
		{"/demo?delay=soon", `delay: "soon" is not a duration`},
		{"/demo/tile/5?n=5", `i: "5" is out of range; allowed 0 to n-1 = 4`},
		{"/demo/tile/1?load=../x", `load: "../x" is not an id`},
		{"/demo/result", `load: "" is not an id`},
	} {
		resp, err := client.Get(base + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(resp)
		if resp.StatusCode != 400 || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %q, want 400 with %q", tc.path, resp.StatusCode, body, tc.want)
		}
	}
}

// TestDemoNeedsTLSListeners: without --demo the page says how to get it.
func TestDemoNeedsTLSListeners(t *testing.T) {
	s := start(t, mux.Options{H1Addr: "127.0.0.1:0"})
	r := do(t, conn(t, s, mux.ListenerH1), "GET", s.URL(mux.ListenerH1)+"/demo", nil)
	if r.status != 404 || !strings.Contains(r.body, "muxlab serve --demo") {
		t.Errorf("%d %q", r.status, r.body)
	}
}

// TestTLSListenersALPN: h1_tls offers only http/1.1; h2_tls offers h2; the
// server counts idle connections apart.
func TestTLSListenersALPN(t *testing.T) {
	s := startDemo(t)
	for _, tc := range []struct {
		listener, want string
	}{{mux.ListenerH1TLS, "HTTP/1.1"}, {mux.ListenerH2TLS, "HTTP/2.0"}} {
		resp, err := tlsClient().Get(s.URL(tc.listener) + "/hello")
		if err != nil {
			t.Fatal(err)
		}
		readAll(resp)
		if resp.Proto != tc.want || resp.Header.Get(mux.HeaderProto) != tc.want {
			t.Errorf("%s answered over %s (server saw %s), want %s", tc.listener, resp.Proto, resp.Header.Get(mux.HeaderProto), tc.want)
		}
	}
	// A connection that never sends a request is idle.
	c, err := tlsDial(s.Addr(mux.ListenerH2TLS))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	muxtest.WaitFor(t, 5*time.Second, "the idle connection to count", func() bool {
		return s.Stats().Listeners[mux.ListenerH2TLS].ConnectionsIdle == 1
	})
	if _, err := tlsClient().Get(s.URL(mux.ListenerH1TLS) + "/demo/result?load=abc"); err != nil {
		t.Fatal(err)
	}
	conns := s.ConnStats()
	seen := map[string]bool{}
	for _, c := range conns {
		seen[c.Listener] = true
	}
	if !seen[mux.ListenerH1TLS] || !seen[mux.ListenerH2TLS] {
		t.Errorf("connection list lacks the TLS listeners: %+v", conns)
	}
}
