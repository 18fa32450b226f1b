package mux_test

import (
	"bytes"
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"muxlab/internal/muxtest"
	"muxlab/mux"
)

// TestRapidResetIsBounded: a client that opens streams and resets them at
// once, thousands of times (the "rapid reset" attack), cannot make the
// server run more handlers at once than its stream limit, and the server's
// goroutines come back down when it stops.
func TestRapidResetIsBounded(t *testing.T) {
	const maxStreams, bursts = 50, 5000
	s := start(t, mux.Options{H2CAddr: "127.0.0.1:0", MaxConcurrentStreams: maxStreams})
	before := runtime.NumGoroutine()
	c, err := net.Dial("tcp", s.Addr(mux.ListenerH2C))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	io.WriteString(c, http2.ClientPreface)
	fr := http2.NewFramer(c, c)
	fr.WriteSettings()
	// Read (and drop) what the server sends, noting a GOAWAY.
	var goaway atomic.Value
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			if g, ok := f.(*http2.GoAwayFrame); ok {
				goaway.Store(g.ErrCode.String())
			}
		}
	}()
	// Watch the goroutines while the burst runs.
	var peakGoroutines atomic.Int64
	stopWatch := make(chan struct{})
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		for {
			if n := int64(runtime.NumGoroutine()); n > peakGoroutines.Load() {
				peakGoroutines.Store(n)
			}
			select {
			case <-stopWatch:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	sent := 0
	for i := range bursts {
		id := uint32(2*i + 1)
		hb.Reset()
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "x"}, {":path", "/echo?delay=10s"}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
			break // the server closed the connection on us: also a bound
		}
		if err := fr.WriteRSTStream(id, http2.ErrCodeCancel); err != nil {
			break
		}
		sent++
	}
	close(stopWatch)
	<-watchDone
	st := s.Stats().Listeners[mux.ListenerH2C]
	t.Logf("sent %d open+reset pairs; the server ran %d handlers, at most %d at once; goroutines peaked at %d (baseline %d); GOAWAY: %v",
		sent, st.Requests, st.PeakInFlightPerConn, peakGoroutines.Load(), before, goaway.Load())
	if st.PeakInFlightPerConn > maxStreams {
		t.Errorf("the server ran %d handlers at once on one connection, more than its limit of %d", st.PeakInFlightPerConn, maxStreams)
	}
	if peak := peakGoroutines.Load(); peak > int64(before+maxStreams+100) {
		t.Errorf("goroutines peaked at %d, baseline %d: the server's work grew with the resets", peak, before)
	}
	c.Close()
	<-readDone
	muxtest.WaitFor(t, 30*time.Second, "the server to release every handler and the connection", func() bool {
		st := s.Stats().Listeners[mux.ListenerH2C]
		return st.InFlight == 0 && st.ConnectionsOpen == 0 && runtime.NumGoroutine() <= before
	})
}
