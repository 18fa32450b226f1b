package main

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"muxlab/internal/browsertest"
	"muxlab/internal/muxtest"
	"muxlab/mux"
)

// The browser contenders measure another server through the emulated
// link: Chromium reaches it by its relay on the link's server side, keeps
// to HTTP/1.1 for chromium-h1 though the server offers h2, and the server
// counts the protocols it was asked for.
func TestBrowserContendersAgainstAnotherServer(t *testing.T) {
	browsertest.Require(t)
	srv := muxtest.Start(t, mux.Options{H2TLSAddr: "127.0.0.1:0"})
	for _, stack := range []string{"kernel", "userspace"} {
		if stack == "kernel" {
			muxtest.RequireKernel(t)
		}
		t.Run(stack, func(t *testing.T) { againstAnotherServer(t, srv.URL(mux.ListenerH2TLS), stack) })
	}
	// Certificates given with --cacert verify the server in muxlab; the
	// browser trusts the key of the certificate so verified. With other
	// certificates the server does not verify, and the turn says so.
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Certificate[0]}), 0o644)
	dir := t.TempDir()
	code, _, errOut := runArgs(t, "bench", "-q", "--url", srv.URL(mux.ListenerH2TLS), "--cacert", ca, "--contenders", "chromium-h2",
		"--scenario", "page", "--objects", "4", "--pages", "1", "--rounds", "1", "--warmup", "0", "--rtt", "10ms", "--out", dir)
	if code != exitOK {
		t.Fatalf("--cacert with a browser: exit %d, %q", code, errOut)
	}
	if c := readOnly(t, dir).Contender("chromium-h2"); c == nil || c.Total.OK != 4 {
		t.Errorf("--cacert with a browser: %+v; want the page's 4 objects", c)
	}
	other, err := mux.SelfSignedCertificate()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: other.Certificate[0]}), 0o644)
	code, _, errOut = runArgs(t, "bench", "-q", "--url", srv.URL(mux.ListenerH2TLS), "--cacert", ca, "--contenders", "chromium-h2",
		"--scenario", "page", "--objects", "4", "--pages", "1", "--rounds", "1", "--warmup", "0", "--rtt", "10ms", "--out", t.TempDir())
	if code == exitOK || !strings.Contains(errOut, "certificate") {
		t.Errorf("--cacert that does not verify the server, with a browser: exit %d, %q", code, errOut)
	}
}

func againstAnotherServer(t *testing.T, url, stack string) {
	dir := t.TempDir()
	code, _, errOut := runArgs(t, "bench", "-q", "--url", url, "--insecure", "--contenders", "h2,chromium-h1,chromium-h2", "--stack", stack,
		"--scenario", "page", "--objects", "12", "--pages", "1", "--rounds", "1", "--warmup", "0", "--delay", "0", "--rtt", "20ms", "--out", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	r := readOnly(t, dir)
	for _, name := range []string{"chromium-h1", "chromium-h2"} {
		c := r.Contender(name)
		if c == nil || c.Total.OK != 12 || c.Total.Error != "" {
			t.Errorf("%s: %+v", name, c)
			continue
		}
		want := map[string]string{"chromium-h1": "HTTP/1.1", "chromium-h2": "HTTP/2.0"}[name]
		if s := c.Total.Server; s == nil || s.Protos[want] != 12 {
			t.Errorf("%s: the server counted %+v; want 12 requests over %s", name, s, want)
		}
		if p := c.Total.Page; p == nil || p.P50 < 20 {
			t.Errorf("%s: page %+v; want none under the 20 ms round trip", name, p)
		}
	}
}
