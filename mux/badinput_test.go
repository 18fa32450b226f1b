package mux_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"muxlab/mux"
)

func TestBadInput(t *testing.T) {
	s := start(t, mux.Options{})
	tests := []struct {
		method, path string
		status       int
		want         string // the one-line message must contain this
	}{
		{"GET", "/echo?delay=5%20parsecs", 400, `delay: "5 parsecs" is not a duration like 50ms; allowed 0 to 30s`},
		{"GET", "/echo?delay=31s", 400, `delay: "31s" is out of range; allowed 0 to 30s`},
		{"GET", "/echo?delay=-1ms", 400, `delay: "-1ms" is out of range`},
		{"GET", "/echo?jitter=1h", 400, `jitter: "1h" is out of range`},
		{"GET", "/echo?size=65MiB", 400, `size: "65MiB" is out of range; allowed 0 to 64MiB`},
		{"GET", "/echo?size=12parsecs", 400, `size: "12parsecs" is not a size like 1024 or 4KiB`},
		{"GET", "/echo?size=-5", 400, `size: "-5" is not a size`},
		{"GET", "/echo?status=99", 400, `status: "99" is out of range; allowed 200 to 599`},
		{"GET", "/echo?status=600", 400, `status: "600" is out of range`},
		{"GET", "/echo?status=ok", 400, `status: "ok" is not a whole number`},
		{"GET", "/tile/10000", 400, `n: "10000" is out of range; allowed 0 to 9999`},
		{"GET", "/tile/x", 400, `n: "x" is not a whole number`},
		{"GET", "/tile/5?delay=1y", 400, `delay: "1y"`},
		{"GET", "/stream?chunks=0", 400, `chunks: "0" is out of range; allowed 1 to 10000`},
		{"GET", "/stream?chunks=10001", 400, `chunks: "10001" is out of range`},
		{"GET", "/stream?interval=11s", 400, `interval: "11s" is out of range; allowed 0 to 10s`},
		{"GET", "/stream?chunks=10000&interval=1s", 400, `interval: "1s" times 10000 chunks is 2h46m40s, too long`},
		{"GET", "/stream?size=2MiB", 400, `size: "2MiB" is out of range; allowed 0 to 1MiB`},
		{"GET", "/stream?chunks=100&size=1MiB&interval=0s", 400, `size: "1MiB" times 100 chunks is more than 64MiB`},
		{"GET", "/stats?conns=yes", 400, `conns: "yes" is not a whole number; allowed 0 to 1`},
		{"GET", "/nowhere", 404, "404 page not found"},
		{"DELETE", "/upload", 405, "Method Not Allowed"},
		{"GET", "/upload", 405, "Method Not Allowed"},
		{"GET", "/echo?unknown=1&size=2", 200, "mu"}, // unknown parameters are ignored
	}
	for _, name := range []string{mux.ListenerH1, mux.ListenerH2C} {
		cc := conn(t, s, name)
		for _, tc := range tests {
			t.Run(name+tc.path, func(t *testing.T) {
				r := do(t, cc, tc.method, s.URL(name)+tc.path, nil)
				if r.status != tc.status || !strings.Contains(r.body, tc.want) {
					t.Errorf("got %d %q, want %d containing %q", r.status, r.body, tc.status, tc.want)
				}
				if strings.Count(strings.TrimSpace(r.body), "\n") != 0 {
					t.Errorf("message is not one line: %q", r.body)
				}
				if tc.status == 405 && r.header.Get("Allow") == "" {
					t.Error("405 without an Allow header")
				}
			})
		}
	}
}

// TestSlowHeadersTimeOut: a client that sends half a request and stops is
// disconnected once the read-header timeout passes.
func TestSlowHeadersTimeOut(t *testing.T) {
	s := start(t, mux.Options{ReadHeaderTimeout: 200 * time.Millisecond})
	for _, name := range []string{mux.ListenerH1, mux.ListenerH2C} {
		t.Run(name, func(t *testing.T) {
			c, err := net.Dial("tcp", s.Addr(name))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, "GET /hello HTTP/1.1\r\nHost: x\r\n") // never finished
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, err = io.Copy(io.Discard, c)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("the server kept a slow client's connection open for 10s")
			}
		})
	}
}

func TestHeadersTooLarge(t *testing.T) {
	s := start(t, mux.Options{MaxHeaderBytes: 8 << 10})
	c, err := net.Dial("tcp", s.Addr(mux.ListenerH1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 64<<10)+"\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status %d, want 431", resp.StatusCode)
	}
}

func TestHeadersTooLargeH2C(t *testing.T) {
	s := start(t, mux.Options{MaxHeaderBytes: 8 << 10})
	cc := conn(t, s, mux.ListenerH2C)
	req, _ := http.NewRequest("GET", s.URL(mux.ListenerH2C)+"/hello", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 64<<10))
	resp, err := cc.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("a 64 KiB header was accepted over h2c with an 8 KiB limit")
		}
	}
	if got := s.Stats().Listeners[mux.ListenerH2C].Requests; got != 0 {
		t.Errorf("the handler ran %d times for a refused header list", got)
	}
}

func TestOptionsRefused(t *testing.T) {
	tests := []struct {
		name string
		opts mux.Options
		want string
	}{
		{"no listener", mux.Options{}, "no listener"},
		{"streams", mux.Options{H1Addr: "127.0.0.1:0", MaxConcurrentStreams: -1}, "MaxConcurrentStreams"},
		{"conn window", mux.Options{H1Addr: "127.0.0.1:0", ConnWindow: 100}, "ConnWindow"},
		{"stream window", mux.Options{H1Addr: "127.0.0.1:0", StreamWindow: 5 << 20}, "StreamWindow"},
		{"bad address", mux.Options{H1Addr: "127.0.0.1:99999"}, "127.0.0.1:99999"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mux.New(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

func TestPortInUseNamesAddress(t *testing.T) {
	s := start(t, mux.Options{H1Addr: "127.0.0.1:0"})
	_, err := mux.New(mux.Options{H1Addr: s.Addr(mux.ListenerH1)})
	if err == nil || !strings.Contains(err.Error(), s.Addr(mux.ListenerH1)) {
		t.Errorf("New on a port in use: %v, want an error naming %s", err, s.Addr(mux.ListenerH1))
	}
}
