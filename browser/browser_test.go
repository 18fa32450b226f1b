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

// A real Chromium loads pages of objects from the HTTP/1.1-only and the h2
// TLS listeners, cold (a fresh context) and then warm (the tab's): every
// object arrives over the protocol the listener offers, with its timings
// in order, the server answered every one, a second warm page reused the
// first's connections, and the cold page opened its own.
func TestLoadPageOverEachProtocol(t *testing.T) {
	browsertest.Require(t)
	srv := muxtest.Start(t, mux.Options{H1TLSAddr: "127.0.0.1:0", H2TLSAddr: "127.0.0.1:0"})
	for _, tc := range []struct {
		listener, proto string
		maxConns        int
	}{{mux.ListenerH1TLS, "http/1.1", 6}, {mux.ListenerH2TLS, "h2", 1}} {
		t.Run(tc.listener, func(t *testing.T) {
			b, err := browser.Start(context.Background(), browser.Options{TrustSPKI: []string{mux.SPKIHash(srv.Certificate())}, Reach: []string{"127.0.0.1"}})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			origin := srv.URL(tc.listener)
			var urls []string
			for i := range 20 {
				urls = append(urls, fmt.Sprintf("/tile/%d?size=2048&delay=20ms", i))
			}
			for i, cold := range []bool{false, false, true} {
				before := srv.Stats().Listeners[tc.listener]
				p, err := b.LoadPage(t.Context(), origin, urls, cold)
				if err != nil {
					t.Fatal(err)
				}
				after := srv.Stats().Listeners[tc.listener]
				if len(p.Objects) != 20 || p.Total <= 0 || p.Load < p.Total || p.Network <= 0 || p.FirstRequest <= 0 || p.FirstRequest+p.Network > p.Total {
					t.Fatalf("cold %v: page %+v", cold, p)
				}
				for _, o := range p.Objects {
					if o.Status != 200 || o.Protocol != tc.proto || o.Start > o.RequestStart || o.RequestStart > o.End || o.End > p.Total {
						t.Errorf("cold %v: object %+v of a %v page over %s", cold, o, p.Total, tc.proto)
					}
				}
				if got := after.Requests - before.Requests; got != 20 {
					t.Errorf("cold %v: the server answered %d requests on %s for 20 objects", cold, got, tc.listener)
				}
				accepted := after.ConnectionsAccepted - before.ConnectionsAccepted
				switch {
				case cold && (accepted < 1 || accepted > int64(tc.maxConns)):
					t.Errorf("a cold page: the server accepted %d connections, want 1 to %d", accepted, tc.maxConns)
				case i == 1 && accepted != 0:
					t.Errorf("a second warm page: the server accepted %d connections, want 0 (the first's were open)", accepted)
				}
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
