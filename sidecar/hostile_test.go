package sidecar_test

import (
	"bufio"
	"context"
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
	"muxlab/sidecar"
)

// slowUpload opens an app connection that announces a 1,000-byte body and
// sends one byte of it every 100 ms until ctx ends; it returns the status
// the sidecar answered, 0 if none.
func slowUpload(ctx context.Context, addr string) int {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /echo HTTP/1.1\r\nHost: app\r\nContent-Length: 1000\r\n\r\n")
	status := make(chan int, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			status <- 0
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for range 1000 {
		select {
		case code := <-status:
			return code
		case <-ctx.Done():
			return 0
		case <-t.C:
			if _, err := c.Write([]byte{'x'}); err != nil {
				return <-status
			}
		}
	}
	return <-status
}

// TestSlowUploadsDoNotStarve: 260 apps uploading a byte at a time hold at
// most MaxUploadStreams of the upstream's streams; the rest wait for a
// place and get 503; a plain request beside them is answered at once.
func TestSlowUploadsDoNotStarve(t *testing.T) {
	srv := muxtest.Start(t, mux.Options{H2CAddr: "127.0.0.1:0"})
	s, addr := start(t, srv.URL(mux.ListenerH2C), sidecar.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for range 260 {
		wg.Go(func() { slowUpload(ctx, addr) })
	}
	// 64 uploads hold places; the other 196 wait QueueTimeout (2s) for
	// one and are answered 503.
	refused := int64(260 - sidecar.DefaultMaxUploadStreams - 10)
	muxtest.WaitFor(t, 10*time.Second, "the uploads beyond the bound to be answered 503", func() bool {
		st := s.Stats()
		return st.Requests >= 260 && st.Unavailable >= refused
	})
	plain := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{}}
	resp, err := plain.Get("http://" + addr + "/hello")
	if err != nil {
		t.Fatalf("a plain request beside 260 slow uploads: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("a plain request beside 260 slow uploads: %d", resp.StatusCode)
	}
	if peak := srv.Stats().Listeners[mux.ListenerH2C].PeakInFlightPerConn; peak > sidecar.DefaultMaxUploadStreams+1 {
		t.Errorf("%d streams in flight upstream at once: more than the uploads' %d and the plain request", peak, sidecar.DefaultMaxUploadStreams)
	}
	cancel()
	wg.Wait()
	// An app answered 503 mid-upload may read a reset instead (the
	// sidecar closes a connection whose body it did not read): the
	// sidecar's own count is the truth here.
	if st := s.Stats(); st.Unavailable < refused || st.BadGateway != 0 {
		t.Errorf("sidecar %+v: want about %d answered 503, none 502", st, 260-sidecar.DefaultMaxUploadStreams)
	}
}

// TestSlowBody: a body that stalls, or drips under the minimum rate, is
// answered 408 and counted, and its stream is given back.
func TestSlowBody(t *testing.T) {
	srv := muxtest.Start(t, mux.Options{H2CAddr: "127.0.0.1:0"})
	s, addr := start(t, srv.URL(mux.ListenerH2C), sidecar.Options{BodyIdleTimeout: 300 * time.Millisecond, MaxUploadStreams: 1})
	for _, tc := range []struct {
		name  string
		every time.Duration
	}{{"stalled", time.Hour}, {"drip", 50 * time.Millisecond}} {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "POST /echo HTTP/1.1\r\nHost: app\r\nContent-Length: 100000\r\n\r\nfirst bytes")
		go func() {
			t := time.NewTicker(tc.every)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					c.Write([]byte{'x'})
				}
			}
		}()
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		cancel()
		c.Close()
		if err != nil || resp.StatusCode != http.StatusRequestTimeout {
			t.Errorf("%s: %v %v; want 408", tc.name, resp, err)
		}
	}
	// The one upload place is free again.
	resp, err := http.Post("http://"+addr+"/echo", "text/plain", strings.NewReader("whole"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("an upload after the slow ones: %v %v", resp, err)
	}
	resp.Body.Close()
	if st := s.Stats(); st.SlowBody != 2 || st.BadGateway != 0 {
		t.Errorf("sidecar %+v; want 2 slow bodies, no 502", st)
	}
}

// TestAppFaults: a malformed chunked body is 400 and the app's fault, not
// a 502; CONNECT and TRACE are 405 with Allow.
func TestAppFaults(t *testing.T) {
	srv := muxtest.Start(t, mux.Options{H2CAddr: "127.0.0.1:0"})
	s, addr := start(t, srv.URL(mux.ListenerH2C), sidecar.Options{})
	send := func(raw string) *http.Response {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, raw)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := send("POST /echo HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n"); resp.StatusCode != 400 {
		t.Errorf("a malformed chunked body: %d; want 400", resp.StatusCode)
	}
	for _, m := range []string{"CONNECT example.com:443", "TRACE /"} {
		resp := send(m + " HTTP/1.1\r\nHost: example.com\r\n\r\n")
		if resp.StatusCode != 405 || resp.Header.Get("Allow") == "" {
			t.Errorf("%s: %d, Allow %q; want 405 with Allow", m, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
	if st := s.Stats(); st.BadRequest != 1 || st.MethodRefused != 2 || st.BadGateway != 0 {
		t.Errorf("sidecar %+v; want 1 bad request, 2 refused methods, no 502", st)
	}
}
