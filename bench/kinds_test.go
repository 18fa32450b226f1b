package bench

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"muxlab/h1pool"
	"muxlab/h2client"
	"muxlab/h3client"
	"muxlab/internal/muxtest"
	"muxlab/mux"
	"muxlab/mux/h3"
)

// TestErrorKindsOfEachClient: each client's real failures, closed, lost
// and handshake, are counted under the same kind, HTTP/3's included.
func TestErrorKindsOfEachClient(t *testing.T) {
	srv := muxtest.Start(t, mux.Options{H1Addr: "127.0.0.1:0", H2CAddr: "127.0.0.1:0"})
	l, err := h3.Listen(srv, h3.Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	l.Start()
	t.Cleanup(func() { l.Close() })
	insecure := &tls.Config{InsecureSkipVerify: true}
	type maker func(addr string) (Client, error)
	clients := map[string]struct {
		addr string
		make maker
	}{
		"h1": {srv.Addr(mux.ListenerH1), func(a string) (Client, error) { return h1pool.New(h1pool.Options{Addr: a}) }},
		"h2": {srv.Addr(mux.ListenerH2C), func(a string) (Client, error) { return h2client.New(h2client.Options{Addr: a}) }},
		"h3": {l.Addr(), func(a string) (Client, error) {
			return h3client.New(h3client.Options{Addr: a, TLSConfig: insecure, DialTimeout: time.Second})
		}},
	}
	do := func(c Client, url string) error { return muxtest.Fetch(context.Background(), c, url) }
	for name, cl := range clients {
		t.Run(name+"/closed", func(t *testing.T) {
			c, err := cl.make(cl.addr)
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
			if got := errorKind(do(c, "http://"+cl.addr+"/hello")); got != "client closed" {
				t.Errorf("a closed client: %q", got)
			}
		})
	}
	// Handshake: h2 to a listener that speaks only HTTP/1.1; h3 to a UDP
	// port that answers nothing; h1 over TLS to a plaintext listener.
	t.Run("h2/handshake", func(t *testing.T) {
		c, _ := h2client.New(h2client.Options{Addr: srv.Addr(mux.ListenerH1), DialTimeout: time.Second})
		defer c.Close()
		if got := errorKind(do(c, "http://x/hello")); got != "handshake" {
			t.Errorf("h2 to an HTTP/1.1 listener: %q", got)
		}
	})
	t.Run("h3/handshake", func(t *testing.T) {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		c, _ := h3client.New(h3client.Options{Addr: pc.LocalAddr().String(), TLSConfig: insecure, DialTimeout: 300 * time.Millisecond})
		defer c.Close()
		if got := errorKind(do(c, "https://x/hello")); got != "handshake" {
			t.Errorf("h3 to a silent UDP port: %q", got)
		}
	})
	t.Run("h1/handshake", func(t *testing.T) {
		tg, err := NewTarget("h1_tls", "https://"+srv.Addr(mux.ListenerH1), nil)
		if err != nil {
			t.Fatal(err)
		}
		tg.TLS.InsecureSkipVerify = true
		c, _ := h1pool.New(h1pool.Options{Addr: tg.Addr, Dial: tg.tlsDial("http/1.1"), DialTimeout: time.Second})
		defer c.Close()
		if got := errorKind(do(c, "https://x/hello")); got != "handshake" {
			t.Errorf("h1 over TLS to a plaintext listener: %q", got)
		}
	})
	// Lost: the server stops while the request waits for its answer.
	t.Run("lost", func(t *testing.T) {
		got := map[string]chan error{}
		for name, cl := range clients {
			c, err := cl.make(cl.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ch := make(chan error, 1)
			got[name] = ch
			go func() { ch <- do(c, "http://"+cl.addr+"/echo?delay=20s") }()
		}
		muxtest.WaitFor(t, 10*time.Second, "three requests in flight", func() bool {
			n := int64(0)
			for _, ls := range srv.Stats().Listeners {
				n += ls.InFlight
			}
			return n == 3
		})
		srv.Close() // at once: every connection closed under its request
		for name, ch := range got {
			if kind := errorKind(<-ch); kind != "connection closed" && kind != "connection reset" {
				t.Errorf("%s: a request whose server went away: %q", name, kind)
			}
		}
	})
}
