package h1pool_test

import (
	"context"
	"errors"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"muxlab/h1pool"
	"muxlab/internal/muxtest"
	"muxlab/mux"
	"muxlab/roundtrip"
)

func startServer(t *testing.T, opts mux.Options) *mux.Server {
	t.Helper()
	if opts.H1Addr == "" {
		opts.H1Addr = "127.0.0.1:0"
	}
	return muxtest.Start(t, opts)
}

func newPool(t *testing.T, opts h1pool.Options) *h1pool.Pool {
	t.Helper()
	p, err := h1pool.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestSixConnectionsForAHundredRequests is judged by the server's count.
func TestSixConnectionsForAHundredRequests(t *testing.T) {
	s := startServer(t, mux.Options{BothAddr: "127.0.0.1:0"})
	for _, listener := range []string{mux.ListenerH1, mux.ListenerBoth} {
		t.Run(listener, func(t *testing.T) {
			p := newPool(t, h1pool.Options{Addr: s.Addr(listener)})
			muxtest.NoErrors(t, muxtest.Burst(p, 100, s.URL(listener)+"/echo?delay=20ms"))
			st := s.Stats().Listeners[listener]
			if st.ConnectionsAccepted != 6 || st.Requests != 100 || st.Protos["HTTP/1.1"] != 100 || st.PeakInFlightPerConn != 1 {
				t.Errorf("server saw %+v; want 6 connections, 100 HTTP/1.1 requests, 1 at a time", st)
			}
			cs := p.Stats()
			if cs.Dials != 6 || cs.ConnsPeak != 6 || cs.InFlightPeak != 6 || cs.Requests != 100 || cs.Failed != 0 {
				t.Errorf("client stats %+v", cs)
			}
			if cs.WaitingPeak == 0 {
				t.Error("no request ever waited for a connection, with 100 sent on 6")
			}
			var sum int64
			for _, c := range cs.PerConn {
				sum += c.Requests
			}
			if len(cs.PerConn) != 6 || sum != 100 {
				t.Errorf("per connection %+v: want 6 connections carrying 100", cs.PerConn)
			}
		})
	}
}

// TestQueueIsFIFO: with one connection busy, waiting requests get it in the
// order they asked.
func TestQueueIsFIFO(t *testing.T) {
	s := startServer(t, mux.Options{})
	p := newPool(t, h1pool.Options{Addr: s.Addr(mux.ListenerH1), Conns: 1})
	base := s.URL(mux.ListenerH1)
	const n = 8
	infos := make([]roundtrip.Info, n+1)
	var wg sync.WaitGroup
	wg.Go(func() { muxtest.Get(context.Background(), p, base+"/echo?delay=200ms", &infos[0]) })
	muxtest.WaitFor(t, 10*time.Second, "the first request to hold the connection", func() bool { return p.Stats().InFlight == 1 })
	for i := 1; i <= n; i++ {
		wg.Go(func() { muxtest.Get(context.Background(), p, base+"/hello", &infos[i]) })
		muxtest.WaitFor(t, 10*time.Second, "the request to queue", func() bool { return p.Stats().Waiting == int64(i) })
	}
	wg.Wait()
	for i := 2; i <= n; i++ {
		if !infos[i].Acquired.After(infos[i-1].Acquired) {
			t.Errorf("request %d got the connection at %v, before request %d at %v", i, infos[i].Acquired, i-1, infos[i-1].Acquired)
		}
	}
	if infos[1].Acquired.Before(infos[0].End) || !infos[n].Reused || infos[n].Conn != 1 {
		t.Errorf("first waiter got the connection at %v, before the request holding it ended at %v; last request reused %v, conn %d",
			infos[1].Acquired, infos[0].End, infos[n].Reused, infos[n].Conn)
	}
	if st := s.Stats().Listeners[mux.ListenerH1]; st.ConnectionsAccepted != 1 {
		t.Errorf("server accepted %d connections, want 1", st.ConnectionsAccepted)
	}
}

func TestInfoSplitsWaitFromService(t *testing.T) {
	s := startServer(t, mux.Options{})
	p := newPool(t, h1pool.Options{Addr: s.Addr(mux.ListenerH1), Conns: 1})
	base := s.URL(mux.ListenerH1)
	var a, b roundtrip.Info
	var wg sync.WaitGroup
	wg.Go(func() { muxtest.Get(context.Background(), p, base+"/echo?delay=100ms", &a) })
	muxtest.WaitFor(t, 10*time.Second, "the first request to hold the connection", func() bool { return p.Stats().InFlight == 1 })
	wg.Go(func() { muxtest.Get(context.Background(), p, base+"/hello", &b) })
	wg.Wait()
	if a.Service() < 100*time.Millisecond || b.Wait() <= 0 || !b.Acquired.After(a.End) && !b.Acquired.Equal(a.End) {
		t.Errorf("a: service %v; b: wait %v, acquired %v, a ended %v", a.Service(), b.Wait(), b.Acquired, a.End)
	}
}

// TestServerRestartReplacesConnections: kept-alive connections that the
// server closed are replaced, the replacements counted, and no idempotent
// request is lost to them.
func TestServerRestartReplacesConnections(t *testing.T) {
	a := startServer(t, mux.Options{})
	addr := a.Addr(mux.ListenerH1)
	p := newPool(t, h1pool.Options{Addr: addr, Conns: 2})
	muxtest.NoErrors(t, muxtest.Burst(p, 10, "http://"+addr+"/echo?delay=5ms"))
	a.Close()
	b := startServer(t, mux.Options{H1Addr: addr})
	muxtest.NoErrors(t, muxtest.Burst(p, 10, "http://"+addr+"/echo?delay=5ms"))
	st := p.Stats()
	if st.Dials != 4 || st.Reconnects != 2 || st.Failed != 0 || st.Retries != 2 {
		t.Errorf("client stats %+v; want 4 dials, 2 reconnects, 2 retries, 0 failed", st)
	}
	if got := b.Stats().Listeners[mux.ListenerH1].ConnectionsAccepted; got != 2 {
		t.Errorf("new server accepted %d connections, want 2", got)
	}
}

// TestServerDiesMidRequest: requests in flight when the server dies fail,
// are counted, and are not resent.
func TestServerDiesMidRequest(t *testing.T) {
	a := startServer(t, mux.Options{})
	p := newPool(t, h1pool.Options{Addr: a.Addr(mux.ListenerH1)})
	errs := make(chan error, 6)
	for range 6 {
		go func() {
			_, err := muxtest.Get(context.Background(), p, a.URL(mux.ListenerH1)+"/echo?delay=5s", nil)
			errs <- err
		}()
	}
	muxtest.WaitFor(t, 10*time.Second, "6 requests in flight", func() bool { return a.Stats().Listeners[mux.ListenerH1].InFlight == 6 })
	a.Close()
	for range 6 {
		if err := <-errs; err == nil {
			t.Error("a request in flight when the server died succeeded")
		}
	}
	if st := p.Stats(); st.Failed != 6 || st.Retries != 0 {
		t.Errorf("stats %+v; want 6 failed, 0 retries", st)
	}
}

func TestCancelledRequest(t *testing.T) {
	s := startServer(t, mux.Options{})
	p := newPool(t, h1pool.Options{Addr: s.Addr(mux.ListenerH1), Conns: 1})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := muxtest.Get(ctx, p, s.URL(mux.ListenerH1)+"/echo?delay=10s", nil); errc <- err }()
	muxtest.WaitFor(t, 10*time.Second, "the request to arrive", func() bool { return s.Stats().Listeners[mux.ListenerH1].InFlight == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	// The slot is free again: the next request gets a connection.
	if _, err := muxtest.Get(context.Background(), p, s.URL(mux.ListenerH1)+"/hello", nil); err != nil {
		t.Errorf("after a cancel: %v", err)
	}
	if st := p.Stats(); st.Failed != 1 || st.InFlight != 0 {
		t.Errorf("stats %+v; want 1 failed and none in flight", st)
	}
}

func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		opts h1pool.Options
		want string
	}{
		{h1pool.Options{}, "Addr is empty"},
		{h1pool.Options{Addr: "x:1", Conns: -1}, "Conns -1 out of range 1 to 1000"},
		{h1pool.Options{Addr: "x:1", Conns: 1001}, "Conns 1001 out of range"},
		{h1pool.Options{Addr: "x:1", DialTimeout: -time.Second}, "negative DialTimeout"},
	} {
		if _, err := h1pool.New(tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want %q", tc.opts, err, tc.want)
		}
	}
}

func TestUnreachableAddressNamesIt(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connection refused
	p := newPool(t, h1pool.Options{Addr: addr})
	if _, err := muxtest.Get(context.Background(), p, "http://"+addr+"/", nil); err == nil || !strings.Contains(err.Error(), addr) {
		t.Errorf("err = %v, want one naming %s", err, addr)
	}
	// A dial that never completes gives up at the dial timeout.
	hang := func(ctx context.Context, _, _ string) (net.Conn, error) { <-ctx.Done(); return nil, ctx.Err() }
	p = newPool(t, h1pool.Options{Addr: "127.0.0.1:9", Dial: hang, DialTimeout: 50 * time.Millisecond})
	if _, err := muxtest.Get(context.Background(), p, "http://127.0.0.1:9/", nil); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "127.0.0.1:9") {
		t.Errorf("err = %v, want a deadline naming 127.0.0.1:9", err)
	}
}

func TestUseAfterClose(t *testing.T) {
	s := startServer(t, mux.Options{})
	p := newPool(t, h1pool.Options{Addr: s.Addr(mux.ListenerH1)})
	if _, err := muxtest.Get(context.Background(), p, s.URL(mux.ListenerH1)+"/hello", nil); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if _, err := muxtest.Get(context.Background(), p, s.URL(mux.ListenerH1)+"/hello", nil); !errors.Is(err, h1pool.ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
	if st := p.Stats(); st.ConnsOpen != 0 {
		t.Errorf("%d connections open after Close", st.ConnsOpen)
	}
}

func TestGoroutinesReturnAfterClose(t *testing.T) {
	s := startServer(t, mux.Options{})
	before := runtime.NumGoroutine()
	p, err := h1pool.New(h1pool.Options{Addr: s.Addr(mux.ListenerH1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	muxtest.NoErrors(t, muxtest.Burst(p, 50, s.URL(mux.ListenerH1)+"/echo?delay=5ms"))
	go muxtest.Get(ctx, p, s.URL(mux.ListenerH1)+"/echo?delay=10s", nil)
	muxtest.WaitFor(t, 10*time.Second, "a request in flight", func() bool { return p.Stats().InFlight == 1 })
	cancel()
	p.Close()
	muxtest.WaitFor(t, 10*time.Second, "goroutines to return to their baseline", func() bool { return runtime.NumGoroutine() <= before })
}

// TestReadAfterErrorCountsOnce: a body whose Read failed counts one failed
// request, however often it is read after that.
func TestReadAfterErrorCountsOnce(t *testing.T) {
	s := startServer(t, mux.Options{})
	p := newPool(t, h1pool.Options{Addr: s.Addr(mux.ListenerH1), Conns: 1})
	muxtest.FailMidBody(t, p, s.URL(mux.ListenerH1)+"/stream?chunks=100&interval=20ms&size=64")
	if st := p.Stats(); st.Failed != 1 || st.Requests != 1 {
		t.Errorf("stats %+v; want 1 request, 1 failed", st)
	}
}
