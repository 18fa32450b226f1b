package browser_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"muxlab/browser"
	"muxlab/internal/browsertest"
	"muxlab/internal/muxtest"
	"muxlab/mux"
)

// A real Chromium loads a page's objects from the HTTP/1.1-only and the h2
// TLS listeners: every object arrives over the protocol the listener
// offers, with its timings in order, and the server answered every one.
func TestLoadOverEachProtocol(t *testing.T) {
	browsertest.Require(t)
	srv := muxtest.Start(t, mux.Options{H1TLSAddr: "127.0.0.1:0", H2TLSAddr: "127.0.0.1:0"})
	for _, tc := range []struct{ listener, proto string }{{mux.ListenerH1TLS, "http/1.1"}, {mux.ListenerH2TLS, "h2"}} {
		t.Run(tc.listener, func(t *testing.T) {
			b, err := browser.Start(context.Background(), browser.Options{TrustSPKI: []string{mux.SPKIHash(srv.Certificate())}})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			origin := srv.URL(tc.listener)
			if err := b.Open(t.Context(), origin+"/blank"); err != nil {
				t.Fatal(err)
			}
			var urls []string
			for i := range 20 {
				urls = append(urls, fmt.Sprintf("/tile/%d?size=2048&delay=20ms", i))
			}
			before := srv.Stats().Listeners[tc.listener].Requests
			p, err := b.Load(t.Context(), urls)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Objects) != 20 || p.Total <= 0 {
				t.Fatalf("page %+v", p)
			}
			for _, o := range p.Objects {
				if o.Status != 200 || o.Protocol != tc.proto || o.Start > o.RequestStart || o.RequestStart > o.End || o.End > p.Total {
					t.Errorf("object %+v of a %v page over %s", o, p.Total, tc.proto)
				}
			}
			if got := srv.Stats().Listeners[tc.listener].Requests - before; got != 20 {
				t.Errorf("the server answered %d requests on %s for 20 objects", got, tc.listener)
			}
		})
	}
}

// A browser that cannot start is an error naming it, not a hang.
func TestStartFails(t *testing.T) {
	if _, err := browser.Start(context.Background(), browser.Options{ExecPath: "/nonexistent/chromium"}); err != browser.ErrNoBrowser {
		t.Errorf("a missing browser: %v, want ErrNoBrowser", err)
	}
	dir := t.TempDir()
	fake := dir + "/chromium"
	os.WriteFile(fake, []byte("#!/bin/sh\nexit 3\n"), 0o755)
	_, err := browser.Start(context.Background(), browser.Options{ExecPath: fake})
	if err == nil || !strings.Contains(err.Error(), "browser: starting "+fake) {
		t.Errorf("a browser that exits at once: %v", err)
	}
}
