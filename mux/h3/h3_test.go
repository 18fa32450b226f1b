package h3_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"

	"muxlab/internal/muxtest"
	"muxlab/mux"
	"muxlab/mux/h3"
)

// start serves a mux server with an h1 listener and an h3 one, and returns
// them with an HTTP/3 client that trusts the server's certificate.
func start(t *testing.T, o h3.Options) (*mux.Server, *h3.Listener, *http3.Transport) {
	t.Helper()
	srv := muxtest.Start(t, mux.Options{H1Addr: "127.0.0.1:0"})
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	l, err := h3.Listen(srv, o)
	if err != nil {
		t.Fatal(err)
	}
	l.Start()
	t.Cleanup(func() { l.Close() })
	tr := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: pool(t, srv, o)}}
	t.Cleanup(func() { tr.Close() })
	return srv, l, tr
}

func pool(t *testing.T, srv *mux.Server, o h3.Options) *x509.CertPool {
	t.Helper()
	cert := o.Certificate
	if cert == nil {
		cert = srv.Certificate()
	}
	p := x509.NewCertPool()
	if cert == nil { // the listener made its own: trust nothing, the test says InsecureSkipVerify
		return p
	}
	c, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	p.AddCert(c)
	return p
}

func TestRequestsOnOneQUICConnection(t *testing.T) {
	cert, err := mux.SelfSignedCertificate()
	if err != nil {
		t.Fatal(err)
	}
	srv, l, tr := start(t, h3.Options{Certificate: cert})
	const n = 20
	var wg sync.WaitGroup
	conns := make(chan string, n)
	for range n {
		wg.Go(func() {
			resp, err := tr.RoundTrip(mustGet(t, l.URL()+"/echo?delay=50ms&size=2048"))
			if err != nil {
				t.Error(err)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || len(body) != 2048 || resp.Header.Get("Muxlab-Proto") != "HTTP/3.0" {
				t.Errorf("status %d, %d bytes, Muxlab-Proto %q", resp.StatusCode, len(body), resp.Header.Get("Muxlab-Proto"))
			}
			conns <- resp.Header.Get("Muxlab-Conn")
		})
	}
	wg.Wait()
	close(conns)
	seen := map[string]bool{}
	for c := range conns {
		seen[c] = true
	}
	st := srv.Stats().Listeners[mux.ListenerH3]
	if len(seen) != 1 || st.ConnectionsAccepted != 1 || st.Requests != n || st.PeakInFlightPerConn < 2 || st.Protos["HTTP/3.0"] != n {
		t.Errorf("connections by header %v; server %+v", seen, st)
	}
	if srv.URL(mux.ListenerH3) != l.URL() || st.Addr != l.Addr() {
		t.Errorf("server knows h3 at %q (%q), listener at %q", srv.URL(mux.ListenerH3), st.Addr, l.URL())
	}
}

// Bad input gets the same 400 over HTTP/3 as over TCP.
func TestBadQueryOverHTTP3(t *testing.T) {
	cert, _ := mux.SelfSignedCertificate()
	_, l, tr := start(t, h3.Options{Certificate: cert})
	resp, err := tr.RoundTrip(mustGet(t, l.URL()+"/echo?size=12%20bananas"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "size") {
		t.Errorf("status %d, body %q", resp.StatusCode, body)
	}
}

// A client may not have more streams in flight than MaxStreams: the rest
// wait for QUIC's stream credit, and the server's peak never exceeds it.
func TestStreamLimit(t *testing.T) {
	cert, _ := mux.SelfSignedCertificate()
	srv, l, tr := start(t, h3.Options{Certificate: cert, MaxStreams: 4})
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			resp, err := tr.RoundTrip(mustGet(t, l.URL()+"/echo?delay=30ms"))
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		})
	}
	wg.Wait()
	if st := srv.Stats().Listeners[mux.ListenerH3]; st.PeakInFlightPerConn != 4 || st.Requests != 12 || st.ConnectionsAccepted != 1 {
		t.Errorf("server %+v; want 4 in flight at most and at peak, on 1 connection", st)
	}
}

// Closing the mux server stops the HTTP/3 listener too, and its
// connections are counted closed.
func TestServerCloseStopsHTTP3(t *testing.T) {
	srv, err := mux.New(mux.Options{H1Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	l, err := h3.Listen(srv, h3.Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	l.Start()
	tr := &http3.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	defer tr.Close()
	resp, err := tr.RoundTrip(mustGet(t, l.URL()+"/hello"))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if st := srv.Stats().Listeners[mux.ListenerH3]; st.ConnectionsOpen != 0 || st.ConnectionsAccepted != 1 {
		t.Errorf("after Close: %+v", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	tr2 := &http3.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	defer tr2.Close()
	if _, err := tr2.RoundTrip(mustGet(t, l.URL()+"/hello").WithContext(ctx)); err == nil {
		t.Error("a request after Close was answered")
	}
}

func TestBadOptions(t *testing.T) {
	srv := muxtest.Start(t, mux.Options{H1Addr: "127.0.0.1:0"})
	if _, err := h3.Listen(srv, h3.Options{Addr: "127.0.0.1:0", MaxStreams: -1}); err == nil || !strings.Contains(err.Error(), "MaxStreams") {
		t.Errorf("MaxStreams -1: %v", err)
	}
	if _, err := h3.Listen(srv, h3.Options{Addr: "256.0.0.1:0"}); err == nil || !strings.Contains(err.Error(), "h3") {
		t.Errorf("a bad address: %v", err)
	}
}

func mustGet(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
