package mux_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"muxlab/internal/muxtest"
	"muxlab/mux"
)

// start serves a fresh server on loopback ports chosen by the kernel.
func start(t *testing.T, opts mux.Options) *mux.Server {
	t.Helper()
	if opts.H1Addr == "" && opts.H2CAddr == "" && opts.BothAddr == "" {
		opts.H1Addr, opts.H2CAddr, opts.BothAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	}
	s, err := mux.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { s.Close() })
	return s
}

// conn opens one client connection to the named listener: HTTP/1.1 for "h1",
// h2c with prior knowledge otherwise.
func conn(t *testing.T, s *mux.Server, listener string) *http.ClientConn {
	t.Helper()
	var protos http.Protocols
	if listener == mux.ListenerH1 {
		protos.SetHTTP1(true)
	} else {
		protos.SetUnencryptedHTTP2(true)
	}
	tr := &http.Transport{Protocols: &protos}
	cc, err := tr.NewClientConn(context.Background(), "http", s.Addr(listener))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

type reply struct {
	status int
	body   string
	header http.Header
	proto  string
}

func do(t *testing.T, rt http.RoundTripper, method, url string, body io.Reader) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return reply{resp.StatusCode, string(b), resp.Header, resp.Proto}
}

func TestSameAnswerOnBothListeners(t *testing.T) {
	s := start(t, mux.Options{})
	h1, h2 := conn(t, s, mux.ListenerH1), conn(t, s, mux.ListenerH2C)
	for _, path := range []string{
		"/hello", "/healthz", "/echo?size=3000", "/echo?status=503&size=7", "/echo?status=204&size=9",
		"/tile/42?size=2KiB", "/stream?chunks=3&interval=1ms&size=100", "/nope",
	} {
		t.Run(path, func(t *testing.T) {
			a := do(t, h1, "GET", s.URL(mux.ListenerH1)+path, nil)
			b := do(t, h2, "GET", s.URL(mux.ListenerH2C)+path, nil)
			if a.status != b.status || a.body != b.body {
				t.Errorf("h1 gave %d with %d bytes, h2c gave %d with %d bytes", a.status, len(a.body), b.status, len(b.body))
			}
			if got, want := a.proto, "HTTP/1.1"; got != want {
				t.Errorf("h1 proto = %q, want %q", got, want)
			}
			if got, want := b.proto, "HTTP/2.0"; got != want {
				t.Errorf("h2c proto = %q, want %q", got, want)
			}
			if a.status != 404 {
				if got := a.header.Get(mux.HeaderProto) + " " + b.header.Get(mux.HeaderProto); got != "HTTP/1.1 HTTP/2.0" {
					t.Errorf("Muxlab-Proto headers = %q", got)
				}
				if a.header.Get(mux.HeaderConn) == "" || a.header.Get(mux.HeaderConn) == b.header.Get(mux.HeaderConn) {
					t.Errorf("Muxlab-Conn headers %q and %q: want two distinct ids", a.header.Get(mux.HeaderConn), b.header.Get(mux.HeaderConn))
				}
			}
		})
	}
}

func TestSizesAndTileHeader(t *testing.T) {
	s := start(t, mux.Options{})
	h1 := conn(t, s, mux.ListenerH1)
	tests := []struct {
		path string
		want int
	}{
		{"/echo", 0},
		{"/echo?size=1024", 1024},
		{"/echo?size=4KiB", 4096},
		{"/echo?size=1MiB", 1 << 20},
		{"/echo?size=2KB", 2000},
		{"/tile/7", 1024},
		{"/stream?chunks=4&interval=0s&size=10", 40},
	}
	for _, tc := range tests {
		r := do(t, h1, "GET", s.URL(mux.ListenerH1)+tc.path, nil)
		if got := len(r.body); got != tc.want || r.status != 200 {
			t.Errorf("%s: %d with %d bytes, want 200 with %d", tc.path, r.status, got, tc.want)
		}
	}
	r := do(t, h1, "GET", s.URL(mux.ListenerH1)+"/tile/9999", nil)
	if got := r.header.Get(mux.HeaderTile); got != "9999" {
		t.Errorf("Muxlab-Tile = %q, want 9999", got)
	}
}

func TestUpload(t *testing.T) {
	s := start(t, mux.Options{})
	for _, name := range []string{mux.ListenerH1, mux.ListenerH2C} {
		cc := conn(t, s, name)
		body := bytes.Repeat([]byte("muxlab"), 100000)
		r := do(t, cc, "POST", s.URL(name)+"/upload", bytes.NewReader(body))
		var got struct {
			Bytes  int64  `json:"bytes"`
			SHA256 string `json:"sha256"`
		}
		if err := json.Unmarshal([]byte(r.body), &got); err != nil {
			t.Fatalf("%s: %v in %q", name, err, r.body)
		}
		sum := sha256.Sum256(body)
		if got.Bytes != int64(len(body)) || got.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: upload answered %+v, want %d bytes and %x", name, got, len(body), sum)
		}
	}
}

func TestUploadTooLarge(t *testing.T) {
	s := start(t, mux.Options{})
	cc := conn(t, s, mux.ListenerH2C)
	r := do(t, cc, "POST", s.URL(mux.ListenerH2C)+"/upload", io.LimitReader(zeros{}, mux.MaxSize+1))
	if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, "body:") {
		t.Errorf("got %d %q, want 413 naming the body", r.status, r.body)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestH2COneConnectionCarriesConcurrentStreams: 100 delayed requests at once
// on one h2c connection are one connection to the server, with most of them
// in flight together.
func TestH2COneConnectionCarriesConcurrentStreams(t *testing.T) {
	s := start(t, mux.Options{})
	cc := conn(t, s, mux.ListenerH2C)
	burst(t, 100, func(i int) http.RoundTripper { return cc }, s.URL(mux.ListenerH2C)+"/echo?delay=300ms")
	st := s.Stats().Listeners[mux.ListenerH2C]
	if st.ConnectionsAccepted != 1 || st.Requests != 100 {
		t.Errorf("server saw %d connections and %d requests, want 1 and 100", st.ConnectionsAccepted, st.Requests)
	}
	if st.PeakInFlightPerConn < 50 {
		t.Errorf("peak in flight on the connection = %d, want at least 50", st.PeakInFlightPerConn)
	}
	if got := st.Protos["HTTP/2.0"]; got != 100 {
		t.Errorf("HTTP/2.0 requests = %d, want 100", got)
	}
}

// TestH1SixKeepAliveConnections: six keep-alive connections, many requests
// each, are six connections to the server, each carrying one at a time.
func TestH1SixKeepAliveConnections(t *testing.T) {
	s := start(t, mux.Options{})
	var ccs []*http.ClientConn
	for range 6 {
		ccs = append(ccs, conn(t, s, mux.ListenerH1))
	}
	for range 5 {
		burst(t, 6, func(i int) http.RoundTripper { return ccs[i] }, s.URL(mux.ListenerH1)+"/echo?delay=10ms")
	}
	st := s.Stats().Listeners[mux.ListenerH1]
	if st.ConnectionsAccepted != 6 || st.ConnectionsOpen != 6 || st.Requests != 30 || st.PeakInFlightPerConn != 1 {
		t.Errorf("server saw %+v, want 6 accepted, 6 open, 30 requests, peak 1", st)
	}
	conns := s.ConnStats()
	if len(conns) != 6 {
		t.Fatalf("connection list has %d entries, want 6", len(conns))
	}
	for _, c := range conns {
		if c.Requests != 5 || !c.Open || c.Listener != mux.ListenerH1 {
			t.Errorf("connection %+v: want 5 requests, open, on h1", c)
		}
	}
}

// burst sends n requests at once, request i through rt(i), and checks each is 200.
func burst(t *testing.T, n int, rt func(i int) http.RoundTripper, url string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", url, nil)
			resp, err := rt(i).RoundTrip(req)
			if err != nil {
				errs <- err
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- fmt.Errorf("status %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestCancelReleasesHandler: a cancelled long delay frees its handler at once,
// as the server's own in-flight count shows.
func TestCancelReleasesHandler(t *testing.T) {
	s := start(t, mux.Options{})
	for _, name := range []string{mux.ListenerH1, mux.ListenerH2C} {
		t.Run(name, func(t *testing.T) {
			cc := conn(t, s, name)
			ctx, cancel := context.WithCancel(context.Background())
			req, _ := http.NewRequestWithContext(ctx, "GET", s.URL(name)+"/echo?delay=10s", nil)
			done := make(chan struct{})
			go func() {
				defer close(done)
				if resp, err := cc.RoundTrip(req); err == nil {
					resp.Body.Close()
				}
			}()
			inFlight := func() int64 { return s.Stats().Listeners[name].InFlight }
			muxtest.WaitFor(t, 5*time.Second, "the request to arrive", func() bool { return inFlight() == 1 })
			cancel()
			muxtest.WaitFor(t, 100*time.Millisecond, "the handler to be released", func() bool { return inFlight() == 0 })
			<-done
		})
	}
}

func TestStatsEndpointAndReset(t *testing.T) {
	s := start(t, mux.Options{})
	h1 := conn(t, s, mux.ListenerH1)
	base := s.URL(mux.ListenerH1)
	do(t, h1, "GET", base+"/hello", nil)
	r := do(t, h1, "GET", base+"/stats?conns=1", nil)
	var st mux.Stats
	if err := json.Unmarshal([]byte(r.body), &st); err != nil {
		t.Fatalf("%v in %s", err, r.body)
	}
	h := st.Listeners[mux.ListenerH1]
	// The /stats request itself is the second request.
	if h.ConnectionsAccepted != 1 || h.Requests != 2 || h.Protos["HTTP/1.1"] != 2 || h.Addr != s.Addr(mux.ListenerH1) {
		t.Errorf("h1 stats = %+v", h)
	}
	if _, ok := st.Listeners[mux.ListenerH2C]; !ok {
		t.Errorf("stats lack the h2c listener: %s", r.body)
	}
	if len(st.Connections) != 1 || st.Connections[0].Requests != 2 || !st.Connections[0].Open {
		t.Errorf("connections = %+v", st.Connections)
	}
	for _, key := range []string{`"connections_accepted"`, `"connections_open"`, `"peak_in_flight_per_conn"`, `"protos"`, `"listener"`, `"peak_in_flight"`} {
		if !strings.Contains(r.body, key) {
			t.Errorf("/stats lacks key %s", key)
		}
	}
	if r := do(t, h1, "POST", base+"/stats/reset", nil); r.status != 400 || !strings.Contains(r.body, mux.HeaderReset) {
		t.Fatalf("a reset without %s: %d %q; want 400 naming the header", mux.HeaderReset, r.status, r.body)
	}
	if h := s.Stats().Listeners[mux.ListenerH1]; h.Requests == 0 {
		t.Fatal("a refused reset zeroed the counts")
	}
	req, _ := http.NewRequest("POST", base+"/stats/reset", nil)
	req.Header.Set(mux.HeaderReset, "yes")
	if resp, err := h1.RoundTrip(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("reset: %v %v", resp, err)
	} else {
		io.ReadAll(resp.Body) // read whole, the connection stays open
		resp.Body.Close()
	}
	h = s.Stats().Listeners[mux.ListenerH1]
	if h.ConnectionsAccepted != 0 || h.Requests != 0 || h.ConnectionsOpen != 1 || h.PeakInFlightPerConn != 0 {
		t.Errorf("after reset: %+v, want zeros with 1 open connection", h)
	}
}

func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	for _, name := range []string{mux.ListenerH1, mux.ListenerH2C} {
		t.Run(name, func(t *testing.T) {
			s := start(t, mux.Options{})
			cc := conn(t, s, name)
			got := make(chan reply, 1)
			go func() { got <- do(t, cc, "GET", s.URL(name)+"/echo?delay=300ms&size=5000", nil) }()
			muxtest.WaitFor(t, 5*time.Second, "the request to arrive", func() bool { return s.Stats().Listeners[name].InFlight == 1 })
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := s.Shutdown(ctx); err != nil {
				t.Fatalf("shutdown: %v", err)
			}
			r := <-got
			if r.status != 200 || len(r.body) != 5000 {
				t.Errorf("in-flight request got %d with %d bytes, want 200 with 5000", r.status, len(r.body))
			}
			if _, err := net.Dial("tcp", s.Addr(name)); err == nil {
				t.Error("the listener still accepts after shutdown")
			}
		})
	}
}

func TestBothListenerSpeaksBoth(t *testing.T) {
	s := start(t, mux.Options{})
	var h1, h2 http.Protocols
	h1.SetHTTP1(true)
	h2.SetUnencryptedHTTP2(true)
	for _, p := range []*http.Protocols{&h1, &h2} {
		cc, err := (&http.Transport{Protocols: p}).NewClientConn(context.Background(), "http", s.Addr(mux.ListenerBoth))
		if err != nil {
			t.Fatal(err)
		}
		do(t, cc, "GET", s.URL(mux.ListenerBoth)+"/hello", nil)
		cc.Close()
	}
	st := s.Stats().Listeners[mux.ListenerBoth]
	if st.Protos["HTTP/1.1"] != 1 || st.Protos["HTTP/2.0"] != 1 || st.ConnectionsAccepted != 2 {
		t.Errorf("both listener saw %+v, want one HTTP/1.1 and one HTTP/2.0 request on 2 connections", st)
	}
}

func TestClosedConnectionsCounted(t *testing.T) {
	s := start(t, mux.Options{})
	for range 3 {
		cc := conn(t, s, mux.ListenerH2C)
		do(t, cc, "GET", s.URL(mux.ListenerH2C)+"/hello", nil)
		cc.Close()
	}
	muxtest.WaitFor(t, 5*time.Second, "connections to close", func() bool {
		return s.Stats().Listeners[mux.ListenerH2C].ConnectionsOpen == 0
	})
	conns := s.ConnStats()
	if len(conns) != 3 {
		t.Fatalf("connection list = %+v, want 3 closed connections", conns)
	}
	for _, c := range conns {
		if c.Open || c.Requests != 1 {
			t.Errorf("connection %+v: want closed with 1 request", c)
		}
	}
}
