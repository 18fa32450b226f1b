package h2client_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"muxlab/h2client"
	"muxlab/internal/hostile"
	"muxlab/internal/muxtest"
	"muxlab/mux"
	"muxlab/roundtrip"
)

func startServer(t *testing.T, opts mux.Options) *mux.Server {
	t.Helper()
	if opts.H2CAddr == "" {
		opts.H2CAddr = "127.0.0.1:0"
	}
	return muxtest.Start(t, opts)
}

func newClient(t *testing.T, opts h2client.Options) *h2client.Client {
	t.Helper()
	c, err := h2client.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func get(ctx context.Context, c *h2client.Client, url string, info *roundtrip.Info) error {
	resp, err := muxtest.Get(ctx, c, url, info)
	if err == nil && resp.ProtoMajor != 2 {
		err = fmt.Errorf("got %s, want HTTP/2", resp.Proto)
	}
	return err
}

func countErrors(errs []error) (n int) {
	for _, err := range errs {
		if err != nil {
			n++
		}
	}
	return n
}

// TestOneConnectionManyStreams is judged by the server's count.
func TestOneConnectionManyStreams(t *testing.T) {
	s := startServer(t, mux.Options{BothAddr: "127.0.0.1:0"})
	for _, listener := range []string{mux.ListenerH2C, mux.ListenerBoth} {
		t.Run(listener, func(t *testing.T) {
			c := newClient(t, h2client.Options{Addr: s.Addr(listener)})
			muxtest.NoErrors(t, muxtest.Burst(c, 100, s.URL(listener)+"/echo?delay=200ms"))
			st := s.Stats().Listeners[listener]
			if st.ConnectionsAccepted != 1 || st.Requests != 100 || st.Protos["HTTP/2.0"] != 100 {
				t.Errorf("server saw %+v; want 1 connection carrying 100 HTTP/2.0 requests", st)
			}
			if st.PeakInFlightPerConn < 50 {
				t.Errorf("server's peak in flight on the connection = %d, want at least 50", st.PeakInFlightPerConn)
			}
			cs := c.Stats()
			if cs.Dials != 1 || cs.ConnsPeak != 1 || cs.Requests != 100 || cs.MaxConcurrentStreams != 250 || cs.PeakStreams < 50 {
				t.Errorf("client stats %+v", cs)
			}
		})
	}
}

// TestWaitsForStreamSlots: with the server allowing 10 streams, 100 requests
// still go on one connection, never more than 10 at once, and all succeed.
func TestWaitsForStreamSlots(t *testing.T) {
	s := startServer(t, mux.Options{MaxConcurrentStreams: 10})
	c := newClient(t, h2client.Options{Addr: s.Addr(mux.ListenerH2C)})
	muxtest.NoErrors(t, muxtest.Burst(c, 100, s.URL(mux.ListenerH2C)+"/echo?delay=20ms"))
	st := s.Stats().Listeners[mux.ListenerH2C]
	if st.ConnectionsAccepted != 1 || st.Requests != 100 || st.PeakInFlightPerConn > 10 {
		t.Errorf("server saw %+v; want 1 connection, 100 requests, at most 10 at once", st)
	}
	cs := c.Stats()
	if cs.MaxConcurrentStreams != 10 || cs.PeakStreams > 10 || cs.WaitingPeak == 0 || cs.Failed != 0 {
		t.Errorf("client stats %+v; want max streams 10, peak at most 10, some waiting, none failed", cs)
	}
}

// TestServerRestartReconnectsOnce: requests in flight when the server dies
// fail and are counted; the next requests reconnect once.
func TestServerRestartReconnectsOnce(t *testing.T) {
	a := startServer(t, mux.Options{})
	addr := a.Addr(mux.ListenerH2C)
	c := newClient(t, h2client.Options{Addr: addr})
	errs := make(chan error, 20)
	for range 20 {
		go func() { errs <- get(context.Background(), c, "http://"+addr+"/echo?delay=10s", nil) }()
	}
	muxtest.WaitFor(t, 10*time.Second, "20 requests in flight", func() bool { return a.Stats().Listeners[mux.ListenerH2C].InFlight == 20 })
	a.Close()
	for range 20 {
		if err := <-errs; err == nil || !strings.Contains(err.Error(), "h2client:") {
			t.Errorf("a request in flight when the server died: %v, want an h2client error", err)
		}
	}
	b := startServer(t, mux.Options{H2CAddr: addr})
	muxtest.NoErrors(t, muxtest.Burst(c, 20, "http://"+addr+"/hello"))
	cs := c.Stats()
	if cs.Dials != 2 || cs.Reconnects != 1 || cs.Failed != 20 || cs.Requests != 40 {
		t.Errorf("client stats %+v; want 2 dials, 1 reconnect, 20 failed of 40", cs)
	}
	if got := b.Stats().Listeners[mux.ListenerH2C].ConnectionsAccepted; got != 1 {
		t.Errorf("new server accepted %d connections, want 1", got)
	}
}

// TestGoAwayReconnectsOnce: a graceful shutdown (GOAWAY) lets in-flight
// streams finish; later requests go on one new connection.
func TestGoAwayReconnectsOnce(t *testing.T) {
	a := startServer(t, mux.Options{})
	addr := a.Addr(mux.ListenerH2C)
	c := newClient(t, h2client.Options{Addr: addr})
	errs := make(chan error, 10)
	for range 10 {
		go func() { errs <- get(context.Background(), c, "http://"+addr+"/echo?delay=500ms", nil) }()
	}
	muxtest.WaitFor(t, 10*time.Second, "10 requests in flight", func() bool { return a.Stats().Listeners[mux.ListenerH2C].InFlight == 10 })
	go a.Shutdown(context.Background())
	var b *mux.Server
	muxtest.WaitFor(t, 10*time.Second, "the port to be free", func() bool {
		var err error
		b, err = mux.New(mux.Options{H2CAddr: addr})
		return err == nil
	})
	b.Start()
	t.Cleanup(func() { b.Close() })
	// A request sent in the instant between the server's GOAWAY and its
	// arrival is refused and must be counted as failed; none is retried.
	var refused int64
	muxtest.WaitFor(t, 10*time.Second, "the GOAWAY to arrive", func() bool {
		if get(context.Background(), c, "http://"+addr+"/hello", nil) != nil {
			refused++
		}
		return c.Stats().Reconnects == 1
	})
	for range 10 {
		if err := <-errs; err != nil {
			t.Errorf("an in-flight request failed across GOAWAY: %v", err)
		}
	}
	muxtest.NoErrors(t, muxtest.Burst(c, 20, "http://"+addr+"/hello"))
	if cs := c.Stats(); cs.Reconnects != 1 || cs.Failed != refused {
		t.Errorf("client stats %+v; want 1 reconnect and %d failed", cs, refused)
	}
	if got := b.Stats().Listeners[mux.ListenerH2C].ConnectionsAccepted; got != 1 {
		t.Errorf("new server accepted %d connections, want 1", got)
	}
}

// TestHTTP1ListenerFailsFast: an HTTP/1.1-only server is named as such.
func TestHTTP1ListenerFailsFast(t *testing.T) {
	s := startServer(t, mux.Options{H1Addr: "127.0.0.1:0"})
	addr := s.Addr(mux.ListenerH1)
	c := newClient(t, h2client.Options{Addr: addr})
	err := get(context.Background(), c, "http://"+addr+"/hello", nil)
	want := addr + " did not answer the HTTP/2 preface: is it an HTTP/1.1-only listener?"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want %q", err, want)
	}
}

// TestSilentServerTimesOut: a server that accepts and never answers fails
// the handshake at the dial timeout.
func TestSilentServerTimesOut(t *testing.T) {
	silent := make(chan struct{})
	t.Cleanup(func() { close(silent) })
	addr := hostile.Listen(t, func(net.Conn) { <-silent })
	c := newClient(t, h2client.Options{Addr: addr, DialTimeout: 100 * time.Millisecond})
	err := get(context.Background(), c, "http://"+addr+"/", nil)
	if err == nil || !strings.Contains(err.Error(), "did not answer the HTTP/2 preface within the dial timeout") {
		t.Errorf("err = %v", err)
	}
}

func TestUnreachableAddressNamesIt(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := newClient(t, h2client.Options{Addr: addr})
	if err := get(context.Background(), c, "http://"+addr+"/", nil); err == nil || !strings.Contains(err.Error(), "dial "+addr) {
		t.Errorf("err = %v, want one naming %s", err, addr)
	}
}

func TestBadOptionsAndUseAfterClose(t *testing.T) {
	if _, err := h2client.New(h2client.Options{}); err == nil || !strings.Contains(err.Error(), "Addr is empty") {
		t.Errorf("New without Addr: %v", err)
	}
	if _, err := h2client.New(h2client.Options{Addr: "x:1", DialTimeout: -1}); err == nil {
		t.Error("New with a negative DialTimeout succeeded")
	}
	s := startServer(t, mux.Options{})
	c := newClient(t, h2client.Options{Addr: s.Addr(mux.ListenerH2C)})
	if err := get(context.Background(), c, s.URL(mux.ListenerH2C)+"/hello", nil); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := get(context.Background(), c, s.URL(mux.ListenerH2C)+"/hello", nil); !errors.Is(err, h2client.ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

func TestCancelWhileWaitingForSlot(t *testing.T) {
	s := startServer(t, mux.Options{MaxConcurrentStreams: 1})
	c := newClient(t, h2client.Options{Addr: s.Addr(mux.ListenerH2C)})
	base := s.URL(mux.ListenerH2C)
	done := make(chan error, 1)
	go func() { done <- get(context.Background(), c, base+"/echo?delay=300ms", nil) }()
	muxtest.WaitFor(t, 10*time.Second, "the slot to be taken", func() bool { return c.Stats().InFlight == 1 })
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- get(ctx, c, base+"/hello", nil) }()
	muxtest.WaitFor(t, 10*time.Second, "the request to wait", func() bool { return c.Stats().Waiting == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if err := <-done; err != nil {
		t.Error(err)
	}
	if st := s.Stats().Listeners[mux.ListenerH2C]; st.Requests != 1 {
		t.Errorf("server got %d requests, want 1: the cancelled one must never be sent", st.Requests)
	}
}

func TestInfoReportsWaitAndConnection(t *testing.T) {
	s := startServer(t, mux.Options{MaxConcurrentStreams: 1})
	c := newClient(t, h2client.Options{Addr: s.Addr(mux.ListenerH2C)})
	base := s.URL(mux.ListenerH2C)
	var a, b roundtrip.Info
	var wg sync.WaitGroup
	wg.Go(func() { get(context.Background(), c, base+"/echo?delay=100ms", &a) })
	muxtest.WaitFor(t, 10*time.Second, "the slot to be taken", func() bool { return c.Stats().InFlight == 1 })
	wg.Go(func() { get(context.Background(), c, base+"/hello", &b) })
	wg.Wait()
	if b.Acquired.Before(a.End) || a.Service() < 100*time.Millisecond || b.Conn != 1 || a.Conn != 1 || !b.Reused {
		t.Errorf("a %+v (service %v); b %+v: b must get the slot after a ended, on connection 1", a, a.Service(), b)
	}
}

func TestGoroutinesReturnAfterClose(t *testing.T) {
	s := startServer(t, mux.Options{})
	before := runtime.NumGoroutine()
	c, err := h2client.New(h2client.Options{Addr: s.Addr(mux.ListenerH2C)})
	if err != nil {
		t.Fatal(err)
	}
	muxtest.NoErrors(t, muxtest.Burst(c, 50, s.URL(mux.ListenerH2C)+"/echo?delay=5ms"))
	errc := make(chan error, 1)
	go func() { errc <- get(context.Background(), c, s.URL(mux.ListenerH2C)+"/echo?delay=10s", nil) }()
	muxtest.WaitFor(t, 10*time.Second, "a request in flight", func() bool { return c.Stats().InFlight == 1 })
	c.Close()
	if err := <-errc; err == nil {
		t.Error("a request in flight at Close succeeded")
	}
	muxtest.WaitFor(t, 10*time.Second, "goroutines to return to their baseline", func() bool { return runtime.NumGoroutine() <= before })
	if n := countErrors(muxtest.Burst(c, 3, s.URL(mux.ListenerH2C)+"/hello")); n != 3 {
		t.Errorf("%d of 3 requests after Close failed, want 3", n)
	}
}

// TestTLSWithALPN: a Dial that returns a TLS connection gives HTTP/2 over
// TLS when the server picks h2 through ALPN, and a clear error when it
// picks HTTP/1.1.
func TestTLSWithALPN(t *testing.T) {
	s := startServer(t, mux.Options{H1TLSAddr: "127.0.0.1:0", H2TLSAddr: "127.0.0.1:0"})
	dialTLS := func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}}}
		return d.DialContext(ctx, network, addr)
	}
	c := newClient(t, h2client.Options{Addr: s.Addr(mux.ListenerH2TLS), Dial: dialTLS})
	muxtest.NoErrors(t, muxtest.Burst(c, 20, s.URL(mux.ListenerH2TLS)+"/echo?delay=50ms"))
	if st := s.Stats().Listeners[mux.ListenerH2TLS]; st.ConnectionsAccepted != 1 || st.Protos["HTTP/2.0"] != 20 {
		t.Errorf("server saw %+v; want 20 HTTP/2.0 requests on 1 connection", st)
	}
	h1 := newClient(t, h2client.Options{Addr: s.Addr(mux.ListenerH1TLS), Dial: dialTLS})
	err := get(context.Background(), h1, s.URL(mux.ListenerH1TLS)+"/hello", nil)
	if err == nil || !strings.Contains(err.Error(), "is it an HTTP/1.1-only TLS listener?") {
		t.Errorf("against an HTTP/1.1-only TLS listener: %v", err)
	}
}

// TestTLSServerChoosesHTTP1: a server that offers both and picks HTTP/1.1
// (because the client offered it first) is refused with the same message.
func TestTLSServerChoosesHTTP1(t *testing.T) {
	s := startServer(t, mux.Options{H2TLSAddr: "127.0.0.1:0"})
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}}
		return d.DialContext(ctx, network, addr)
	}
	c := newClient(t, h2client.Options{Addr: s.Addr(mux.ListenerH2TLS), Dial: dial})
	err := get(context.Background(), c, s.URL(mux.ListenerH2TLS)+"/hello", nil)
	if err == nil || !strings.Contains(err.Error(), `negotiated "http/1.1" through ALPN, not h2`) {
		t.Errorf("err = %v", err)
	}
}

// TestReadAfterErrorCountsOnce: a body whose Read failed counts one failed
// request, however often it is read after that.
func TestReadAfterErrorCountsOnce(t *testing.T) {
	s := startServer(t, mux.Options{})
	c := newClient(t, h2client.Options{Addr: s.Addr(mux.ListenerH2C)})
	muxtest.FailMidBody(t, c, s.URL(mux.ListenerH2C)+"/stream?chunks=100&interval=20ms&size=64")
	if st := c.Stats(); st.Failed != 1 || st.Requests != 1 {
		t.Errorf("stats %+v; want 1 request, 1 failed", st)
	}
}
