package sidecar_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"muxlab/h2client"
	"muxlab/internal/muxtest"
	"muxlab/mux"
	"muxlab/sidecar"
)

// start runs a sidecar in front of upstream (an h2c base URL) and returns
// its address.
func start(t *testing.T, base string, o sidecar.Options) (*sidecar.Sidecar, string) {
	t.Helper()
	up, err := h2client.New(h2client.Options{Addr: strings.TrimPrefix(base, "http://"), DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	o.Upstream, o.Base = up, base
	s, err := sidecar.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return s, ln.Addr().String()
}

// Fifty app connections in, one HTTP/2 connection out, by the server's
// count; every request answered, with Via.
func TestManyAppConnectionsOneUpstream(t *testing.T) {
	srv := muxtest.Start(t, mux.Options{H2CAddr: "127.0.0.1:0"})
	s, addr := start(t, srv.URL(mux.ListenerH2C), sidecar.Options{})
	const apps = 50
	var wg sync.WaitGroup
	for range apps {
		wg.Go(func() {
			c := &http.Client{Transport: &http.Transport{}} // an app of its own: its own connection
			defer c.CloseIdleConnections()
			resp, err := c.Get("http://" + addr + "/echo?delay=50ms&size=1000")
			if err != nil {
				t.Error(err)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || len(body) != 1000 || !strings.Contains(resp.Header.Get("Via"), sidecar.Via) ||
				resp.Header.Get(mux.HeaderProto) != "HTTP/2.0" {
				t.Errorf("status %d, %d bytes, Via %q, proto %q", resp.StatusCode, len(body), resp.Header.Get("Via"), resp.Header.Get(mux.HeaderProto))
			}
		})
	}
	wg.Wait()
	st := s.Stats()
	if st.ConnectionsIn != apps || st.Requests != apps || st.Upstream.Dials != 1 || st.Upstream.PeakStreams < 2 || st.AddedCount != apps {
		t.Errorf("sidecar %+v", st)
	}
	if sv := srv.Stats().Listeners[mux.ListenerH2C]; sv.ConnectionsAccepted != 1 || sv.Requests != apps {
		t.Errorf("server %+v; want 1 connection carrying %d requests", sv, apps)
	}
	// Its own counts, over HTTP.
	resp, err := http.Get("http://" + addr + sidecar.StatsPath)
	if err != nil {
		t.Fatal(err)
	}
	var got sidecar.Stats
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if got.Requests != apps || got.Upstream.Dials != 1 {
		t.Errorf("%s: %+v", sidecar.StatsPath, got)
	}
}

// A streamed response reaches the app chunk by chunk.
func TestStreams(t *testing.T) {
	srv := muxtest.Start(t, mux.Options{H2CAddr: "127.0.0.1:0"})
	_, addr := start(t, srv.URL(mux.ListenerH2C), sidecar.Options{})
	start := time.Now()
	resp, err := http.Get("http://" + addr + "/stream?chunks=5&interval=100ms&size=10")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 1)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	first := time.Since(start)
	io.Copy(io.Discard, resp.Body)
	if total := time.Since(start); first > total/2 || total < 400*time.Millisecond {
		t.Errorf("first byte after %v of %v: the stream was held back", first, total)
	}
}

// Bad input: a body beyond the bound gets 413, an upstream that is not
// there or speaks HTTP/1.1 only gets 502 with one line, a malformed request
// 400; each is counted, and the sidecar goes on.
func TestBadInput(t *testing.T) {
	srv := muxtest.Start(t, mux.Options{H1Addr: "127.0.0.1:0", H2CAddr: "127.0.0.1:0"})
	s, addr := start(t, srv.URL(mux.ListenerH2C), sidecar.Options{MaxBodyBytes: 1024})
	resp, err := http.Post("http://"+addr+"/echo", "text/plain", strings.NewReader(strings.Repeat("x", 2000)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("a 2000-byte body against a bound of 1024: %d", resp.StatusCode)
	}
	// Without a length: the bound is found while the body streams up.
	req, _ := http.NewRequest("POST", "http://"+addr+"/echo", io.MultiReader(strings.NewReader(strings.Repeat("y", 3000))))
	req.ContentLength = -1
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 413 {
		t.Errorf("a chunked 3000-byte body: %v %v", resp.StatusCode, err)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "NOT HTTP AT ALL\r\n\r\n")
	line, _ := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if !strings.Contains(line, "400") {
		t.Errorf("a malformed request got %q", line)
	}
	for _, tc := range []struct{ name, base, want string }{
		{"dead port", "http://" + freeAddr(t), "connection refused"},
		{"HTTP/1.1 only", srv.URL(mux.ListenerH1), "is it an HTTP/1.1-only listener?"},
	} {
		bad, baddr := start(t, tc.base, sidecar.Options{})
		resp, err := http.Get("http://" + baddr + "/hello")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 502 || !strings.Contains(string(body), tc.want) || strings.Count(strings.TrimSpace(string(body)), "\n") != 0 {
			t.Errorf("%s: %d %q; want 502, one line saying %q", tc.name, resp.StatusCode, body, tc.want)
		}
		if st := bad.Stats(); st.BadGateway != 1 {
			t.Errorf("%s: %+v", tc.name, st)
		}
	}
	if st := s.Stats(); st.TooLarge != 2 || st.Upstream.Dials > 1 {
		t.Errorf("sidecar %+v", st)
	}
}

// An app that goes away cancels its upstream stream: the server sees the
// request end long before its delay, and the connection carries on.
func TestAppGoesAway(t *testing.T) {
	srv := muxtest.Start(t, mux.Options{H2CAddr: "127.0.0.1:0"})
	s, addr := start(t, srv.URL(mux.ListenerH2C), sidecar.Options{})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET /echo?delay=20s HTTP/1.1\r\nHost: x\r\n\r\n")
	muxtest.WaitFor(t, 5*time.Second, "the request on the server", func() bool {
		return srv.Stats().Listeners[mux.ListenerH2C].InFlight == 1
	})
	c.Close()
	muxtest.WaitFor(t, 5*time.Second, "the server to see the request cancelled", func() bool {
		return srv.Stats().Listeners[mux.ListenerH2C].InFlight == 0
	})
	resp, err := http.Get("http://" + addr + "/hello")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after an app went away: %v", err)
	}
	resp.Body.Close()
	if st := s.Stats(); st.Cancelled != 1 || st.Upstream.Dials != 1 {
		t.Errorf("sidecar %+v", st)
	}
}

func TestBadOptions(t *testing.T) {
	up, _ := h2client.New(h2client.Options{Addr: "127.0.0.1:1"})
	for _, o := range []sidecar.Options{{}, {Upstream: up, Base: "ftp://x"}, {Upstream: up, Base: "http://x", MaxBodyBytes: -1}} {
		if _, err := sidecar.New(o); err == nil {
			t.Errorf("New(%+v): no error", o)
		}
	}
}

// The peer the hop is measured against: HAProxy, started and configured as
// BenchmarkHop does, carries HTTP/1.1 from apps to the server's h2c
// listener over HTTP/2, and with http-reuse always on one connection.
func TestHAProxyPeer(t *testing.T) {
	srv := muxtest.Start(t, mux.Options{H2CAddr: "127.0.0.1:0"})
	url, _ := startHAProxy(t, srv.Addr(mux.ListenerH2C), "http-reuse always")
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			c := &http.Client{Transport: &http.Transport{}}
			defer c.CloseIdleConnections()
			resp, err := c.Get(url + "/echo?delay=20ms&size=100")
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get(mux.HeaderProto) != "HTTP/2.0" {
				t.Errorf("status %d over %q", resp.StatusCode, resp.Header.Get(mux.HeaderProto))
			}
		})
	}
	wg.Wait()
	if st := srv.Stats().Listeners[mux.ListenerH2C]; st.Requests != 20 || st.ConnectionsAccepted < 1 || st.Protos["HTTP/2.0"] != 20 {
		t.Errorf("server %+v", st)
	}
}
