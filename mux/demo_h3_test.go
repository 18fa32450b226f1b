package mux_test

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"muxlab/internal/browsertest"
	"muxlab/mux"
	"muxlab/mux/h3"
)

// TestDemoHTTP3InChromium: with an HTTP/3 listener the demo has a third
// pane, which headless Chromium, forced to QUIC for that origin and trusting
// the run's certificate by its key, loads over h3 on one QUIC connection,
// by the server's count.
func TestDemoHTTP3InChromium(t *testing.T) {
	s := startDemo(t)
	l, err := h3.Listen(s, h3.Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	l.Start()
	leaf, err := x509.ParseCertificate(s.Certificate().Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	spki := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	ctx, ev := browsertest.New(t, browsertest.Options{IgnoreCertErrors: true, Width: 1500, Height: 790,
		QUICOrigins: []string{l.Addr()}, TrustSPKI: []string{base64.StdEncoding.EncodeToString(spki[:])}})
	const n = 64
	if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s/demo?n=%d&delay=100ms", s.URL(mux.ListenerH1TLS), n))); err != nil {
		t.Fatal(err)
	}
	res := waitDemoResult(t, ctx)
	p := res.Panes["h3"]
	if p.Failed > 0 || p.Conns != 1 || p.Protos["h3"] != n || len(p.Protos) != 1 || p.ServerTiles != n {
		t.Errorf("HTTP/3 pane: %+v; want 1 QUIC connection carrying %d tiles, all h3", p, n)
	}
	server := s.DemoResult(res.Load)
	if got := len(server[mux.ListenerH3].Connections); got != 1 {
		t.Errorf("server: %d QUIC connections carried the load's tiles, want 1", got)
	}
	if st := s.Stats().Listeners[mux.ListenerH3]; st.Protos["HTTP/3.0"] < n {
		t.Errorf("server: h3 listener %+v", st)
	}
	if errs := ev.Errors(); len(errs) > 0 {
		t.Errorf("the browser logged errors: %q", errs)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(os.TempDir(), "muxlab-demo-h3.png")
	if *update {
		shot = filepath.Join("..", "docs", "demo.png")
	}
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s; HTTP/1.1 %.0f ms on %d connections, HTTP/2 %.0f ms on %d, HTTP/3 %.0f ms on %d",
		shot, res.Panes["h1"].MS, res.Panes["h1"].Conns, res.Panes["h2"].MS, res.Panes["h2"].Conns, p.MS, p.Conns)
}
