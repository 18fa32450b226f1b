//go:build !race

// The load tests hold tens of thousands of goroutines, more than the race
// detector allows (8128), so they build without -race; make test runs them in
// a pass of their own.

package mux_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"muxlab/internal/muxtest"
	"muxlab/mux"
)

// TestLoadThousandHTTP1Connections: the server holds 1,000 HTTP/1.1
// connections with a request in flight on each, answers them all, and
// returns to its baseline once they close.
func TestLoadThousandHTTP1Connections(t *testing.T) {
	s := start(t, mux.Options{H1Addr: "127.0.0.1:0"})
	before := runtime.NumGoroutine()
	const n = 1000
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", s.Addr(mux.ListenerH1))
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns[i] = c
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, c := range conns {
		wg.Go(func() {
			c.SetDeadline(time.Now().Add(60 * time.Second))
			fmt.Fprintf(c, "GET /echo?delay=1s&size=100 HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
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
	muxtest.WaitFor(t, 30*time.Second, "1,000 requests in flight at once", func() bool {
		st := s.Stats().Listeners[mux.ListenerH1]
		return st.ConnectionsOpen == n && st.InFlight == n
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, c := range conns {
		c.Close()
	}
	muxtest.WaitFor(t, 30*time.Second, "connections and goroutines to return to their baseline", func() bool {
		return s.Stats().Listeners[mux.ListenerH1].ConnectionsOpen == 0 && runtime.NumGoroutine() <= before
	})
	if st := s.Stats().Listeners[mux.ListenerH1]; st.Requests != n || st.ConnectionsAccepted != n {
		t.Errorf("server counted %+v", st)
	}
}

// TestLoadTenThousandHTTP2Streams: 10,000 streams in flight at once over 40
// connections of 250 streams each, all answered, then back to baseline.
func TestLoadTenThousandHTTP2Streams(t *testing.T) {
	s := start(t, mux.Options{H2CAddr: "127.0.0.1:0", MaxConcurrentStreams: 250})
	before := runtime.NumGoroutine()
	const conns, perConn = 40, 250
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &protos}
	ccs := make([]*http.ClientConn, conns)
	for i := range ccs {
		cc, err := tr.NewClientConn(context.Background(), "http", s.Addr(mux.ListenerH2C))
		if err != nil {
			t.Fatal(err)
		}
		ccs[i] = cc
	}
	var wg sync.WaitGroup
	errs := make(chan error, conns*perConn)
	url := s.URL(mux.ListenerH2C) + "/echo?delay=2s&size=100"
	for _, cc := range ccs {
		for range perConn {
			wg.Go(func() {
				req, _ := http.NewRequest("GET", url, nil)
				resp, err := cc.RoundTrip(req)
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
	}
	muxtest.WaitFor(t, 60*time.Second, "10,000 streams in flight at once", func() bool {
		return s.Stats().Listeners[mux.ListenerH2C].InFlight == conns*perConn
	})
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if failed++; failed <= 5 {
			t.Error(err)
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d streams failed", failed, conns*perConn)
	}
	for _, cc := range ccs {
		cc.Close()
	}
	muxtest.WaitFor(t, 30*time.Second, "connections and goroutines to return to their baseline", func() bool {
		return s.Stats().Listeners[mux.ListenerH2C].ConnectionsOpen == 0 && runtime.NumGoroutine() <= before
	})
	st := s.Stats().Listeners[mux.ListenerH2C]
	if st.ConnectionsAccepted != conns || st.Requests != conns*perConn || st.PeakInFlightPerConn != perConn {
		t.Errorf("server counted %+v", st)
	}
}
