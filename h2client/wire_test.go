package h2client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"muxlab/internal/muxtest"
)

// h2cServer serves handler over h2c with prior knowledge from net/http's
// server on a loopback port, and returns its address. (x/net's own server
// would share its pools of channels with the tests that run it inside a
// synctest bubble, which the runtime refuses.)
func h2cServer(t testing.TB, handler http.Handler) string {
	t.Helper()
	srv := &http.Server{Handler: handler, Protocols: new(http.Protocols), HTTP2: &http.HTTP2Config{MaxConcurrentStreams: 250}}
	srv.Protocols.SetUnencryptedHTTP2(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func newTestClient(t *testing.T, addr string) *Client {
	t.Helper()
	c, err := New(Options{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestLargeBodiesBothWays: a request body and a response body larger than
// every initial flow-control window arrive whole, so both directions' windows
// are kept and given back.
func TestLargeBodiesBothWays(t *testing.T) {
	t.Parallel()
	const size = 9 << 20 // beyond the stream window (4 MiB) and the server's defaults
	addr := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("X-Got", strconv.FormatInt(n, 10))
		w.Header().Set("X-Sum", fmt.Sprintf("%x", h.Sum(nil)))
		io.Copy(w, bytes.NewReader(payload(size)))
	}))
	c := newTestClient(t, addr)
	want := sha256.Sum256(payload(size))
	for range 2 { // the second shows the windows were given back
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/", bytes.NewReader(payload(size)))
		resp, err := c.Do(req, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || len(body) != size || !bytes.Equal(body, payload(size)) {
			t.Fatalf("response body: %d bytes, %v; want %d", len(body), err, size)
		}
		if got := resp.Header.Get("X-Got"); got != strconv.Itoa(size) || resp.Header.Get("X-Sum") != fmt.Sprintf("%x", want) {
			t.Fatalf("the server got %s bytes (sum %s), want %d", got, resp.Header.Get("X-Sum"), size)
		}
	}
}

func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

// TestTrailersAndInformational: 103 Early Hints are skipped for the real
// response; trailers arrive in resp.Trailer once the body is read.
func TestTrailersAndInformational(t *testing.T) {
	t.Parallel()
	addr := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Trailer", "X-Checksum")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "body")
		w.Header().Set("X-Checksum", "42")
	}))
	c := newTestClient(t, addr)
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
	resp, err := c.Do(req, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Status != "200 OK" || resp.Proto != "HTTP/2.0" {
		t.Fatalf("status %q proto %s", resp.Status, resp.Proto)
	}
	if _, ok := resp.Trailer["X-Checksum"]; !ok {
		t.Errorf("trailer keys before the body: %v, want X-Checksum declared", resp.Trailer)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != "body" {
		t.Fatalf("body %q, %v", body, err)
	}
	if got := resp.Trailer.Get("X-Checksum"); got != "42" {
		t.Errorf("trailer %v, want X-Checksum: 42", resp.Trailer)
	}
}

// TestResetsAndCancels: a stream the server resets fails with x/net's
// StreamError; a request cancelled while waiting for its head, and a body
// closed before its end, reset only their own streams, and give back the
// connection window their unread bytes took.
func TestResetsAndCancels(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	addr := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/reset":
			panic(http.ErrAbortHandler) // x/net resets the stream
		case "/wait":
			select {
			case <-r.Context().Done():
			case <-release:
			}
		case "/big":
			w.Write(payload(1 << 20))
		default:
			io.WriteString(w, "ok")
		}
	}))
	defer close(release)
	c := newTestClient(t, addr)
	do := func(ctx context.Context, path string) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
		return c.Do(req, nil)
	}
	_, err := do(context.Background(), "/reset")
	var se http2.StreamError
	if !errors.As(err, &se) {
		t.Errorf("reset stream: %v, want an http2.StreamError", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	_, err = do(ctx, "/wait")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled while waiting: %v, want context.DeadlineExceeded", err)
	}
	for range 3 {
		resp, err := do(context.Background(), "/big")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Read(make([]byte, 10))
		resp.Body.Close()
	}
	resp, err := do(context.Background(), "/ok")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if st := c.Stats(); st.Dials != 1 {
		t.Errorf("%d dials: resets must leave the connection up", st.Dials)
	}
	w := c.s.Current().L.cc
	muxtestWait(t, "the unread bytes to be given back", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		// What the server may still send, plus what is held for a
		// WINDOW_UPDATE, is the whole window: nothing is lost.
		return w.recv.avail+w.recv.unsent == connWindow && len(w.streams) == 0
	})
}

func muxtestWait(t *testing.T, what string, ok func() bool) {
	t.Helper()
	muxtest.WaitFor(t, 10*time.Second, what, ok)
}

// TestSameHeadersAsXNet: for each request, the server sees what it sees
// from x/net's own Transport (with compression off, as h2client asks for
// none): method, host, path, header, content length and body.
func TestSameHeadersAsXNet(t *testing.T) {
	t.Parallel()
	type seen struct {
		Method, Host, URI string
		Header            http.Header
		Length            int64
		Body              string
	}
	got := make(chan seen, 1)
	addr := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.Host, r.RequestURI, r.Header.Clone(), r.ContentLength, string(b)}
	}))
	c := newTestClient(t, addr)
	xt := &http2.Transport{AllowHTTP: true, DisableCompression: true}
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	xc, err := xt.NewClientConn(nc)
	if err != nil {
		t.Fatal(err)
	}
	defer xc.Close()
	for _, tc := range []struct {
		name string
		make func() *http.Request
	}{
		{"GET", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/a/b?c=d&e=%20", nil)
			r.Header.Set("X-Muxlab", "1")
			r.Header.Add("Accept", "text/html")
			r.Header.Add("Accept", "*/*")
			return r
		}},
		{"own User-Agent and Host", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
			r.Header.Set("User-Agent", "muxlab/test")
			r.Host = "example.com:8443"
			return r
		}},
		{"no User-Agent", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
			r.Header.Set("User-Agent", "")
			return r
		}},
		{"cookies and connection fields", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
			r.Header.Set("Cookie", "a=1; b=2")
			r.Header.Set("Connection", "keep-alive")
			r.Header.Set("Keep-Alive", "300")
			r.Header.Set("TE", "trailers")
			return r
		}},
		{"POST with a body", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/up", strings.NewReader("hello"))
			return r
		}},
		{"POST without a body", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/up", nil)
			return r
		}},
		{"body of unknown length", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPut, "http://"+addr+"/up", io.NopCloser(strings.NewReader("chunk")))
			return r
		}},
	} {
		var ours, theirs seen
		for i, rt := range []func(*http.Request) (*http.Response, error){
			func(r *http.Request) (*http.Response, error) { return c.Do(r, nil) },
			xc.RoundTrip,
		} {
			resp, err := rt(tc.make())
			if err != nil {
				t.Fatalf("%s (%d): %v", tc.name, i, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if i == 0 {
				ours = <-got
			} else {
				theirs = <-got
			}
		}
		if fmt.Sprint(ours) != fmt.Sprint(theirs) {
			t.Errorf("%s: the server saw\n%+v\nfrom h2client and\n%+v\nfrom x/net", tc.name, ours, theirs)
		}
	}
}

// TestBadRequestsSendNothing: a request net/http would refuse fails before
// anything is written, and the connection carries on.
func TestBadRequestsSendNothing(t *testing.T) {
	t.Parallel()
	var n int
	var mu sync.Mutex
	addr := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
	}))
	c := newTestClient(t, addr)
	for _, mod := range []func(*http.Request){
		func(r *http.Request) { r.Header["Bad Name"] = []string{"v"} },
		func(r *http.Request) { r.Header.Set("X-A", "a\r\nb") },
		func(r *http.Request) { r.Header.Set("TE", "gzip") },
		func(r *http.Request) { r.Host = "a b" },
		func(r *http.Request) { r.Method = "GE T" },
	} {
		r, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
		mod(r)
		if _, err := c.Do(r, nil); err == nil {
			t.Errorf("%v %v %q was sent", r.Method, r.Header, r.Host)
		}
	}
	r, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
	resp, err := c.Do(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if n != 1 {
		t.Errorf("the server got %d requests, want only the good one", n)
	}
}

// TestHeaderBlocksReused: requests that repeat, interleaved with ones that
// change the hpack table (a new value each time), all reach the server
// with their own fields: a reused block is only ever one that changes
// nothing.
func TestHeaderBlocksReused(t *testing.T) {
	t.Parallel()
	got := make(chan string, 1)
	addr := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.URL.Path + " " + r.Header.Get("X-A") + " " + r.Header.Get("X-N")
	}))
	c := newTestClient(t, addr)
	for i := range 61 { // the last one repeats the first
		r, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/same", nil)
		r.Header.Set("X-A", "a")
		want := "/same a "
		switch i % 3 {
		case 1:
			r.URL.Path = "/other"
			want = "/other a "
		case 2:
			r.Header.Set("X-N", strconv.Itoa(i))
			want += strconv.Itoa(i)
		}
		resp, err := c.Do(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if g := <-got; g != want {
			t.Fatalf("request %d: the server saw %q, want %q", i, g, want)
		}
	}
	if w := c.s.Current().L.cc; !w.cached {
		t.Error("no block was kept for reuse")
	}
}
