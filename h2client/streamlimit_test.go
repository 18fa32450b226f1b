package h2client_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/http2"

	"muxlab/h2client"
	"muxlab/roundtrip"
)

// blockingBody is a request body whose first Read waits until release is
// closed, whatever else happens to the stream.
type blockingBody struct{ release chan struct{} }

func (b blockingBody) Read([]byte) (int, error) { <-b.release; return 0, io.EOF }
func (b blockingBody) Close() error             { return nil }

// TestWaitEndsWhenTheStreamOpens: at the server's stream limit, x/net counts
// a stream until it has forgotten it, which can be after the caller read its
// response to the end and the client freed its own slot. The next request
// then waits inside x/net, and that time is wait, not service.
//
// The server allows one stream. Request A is a POST whose body blocks: the
// server answers it at once, A's response is read to the end (freeing the
// client's slot), but x/net keeps A's stream until its body is done, 10 ms
// later on the bubble's clock. Request B must wait those 10 ms.
func TestWaitEndsWhenTheStreamOpens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &http2.Server{MaxConcurrentStreams: 1}
		handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
		c, err := h2client.New(h2client.Options{Addr: "pipe:1", Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			client, server := net.Pipe()
			go srv.ServeConn(server, &http2.ServeConnOpts{Handler: handler})
			return client, nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		release := make(chan struct{})
		a, err := http.NewRequest(http.MethodPost, "http://pipe/a", blockingBody{release})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(a, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Read to EOF, which frees the client's slot; Close would wait for
		// A's request body, so it comes at the end.
		aBody := resp.Body
		defer aBody.Close()
		if body, err := io.ReadAll(aBody); err != nil || string(body) != "ok" {
			t.Fatalf("A: %q, %v", body, err)
		}
		if st := c.Stats(); st.InFlight != 0 {
			t.Fatalf("A still holds the client's slot: %+v", st)
		}
		go func() {
			time.Sleep(10 * time.Millisecond)
			close(release)
		}()
		var info roundtrip.Info
		b, _ := http.NewRequest(http.MethodGet, "http://pipe/b", nil)
		resp, err = c.Do(b, &info)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if info.Wait() < 10*time.Millisecond || info.Service() >= 10*time.Millisecond {
			t.Errorf("B: wait %v, service %v; want the 10 ms that x/net held it in the wait", info.Wait(), info.Service())
		}
	})
}

// TestNoAcceptEncoding: h2client asks for no compression, as h1pool
// does not, so that both put the same request on the wire.
func TestNoAcceptEncoding(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		got := make(chan http.Header, 1)
		handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Clone() })
		c, err := h2client.New(h2client.Options{Addr: "pipe:1", Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			client, server := net.Pipe()
			go (&http2.Server{}).ServeConn(server, &http2.ServeConnOpts{Handler: handler})
			return client, nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		req, _ := http.NewRequest(http.MethodGet, "http://pipe/", nil)
		resp, err := c.Do(req, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if h := <-got; strings.Contains(h.Get("Accept-Encoding"), "gzip") {
			t.Errorf("request headers %v ask for gzip", h)
		}
	})
}
