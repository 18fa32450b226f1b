package h3client_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"muxlab/h3client"
	"muxlab/internal/muxtest"
	"muxlab/mux"
	"muxlab/mux/h3"
	"muxlab/roundtrip"
)

// server starts a mux server with an HTTP/3 listener and returns it, the
// listener, and TLS settings that trust its certificate.
func server(t *testing.T, mo mux.Options, ho h3.Options) (*mux.Server, *h3.Listener, *tls.Config) {
	t.Helper()
	if mo.H1Addr == "" {
		mo.H1Addr = "127.0.0.1:0"
	}
	srv := muxtest.Start(t, mo)
	cert, err := mux.SelfSignedCertificate()
	if err != nil {
		t.Fatal(err)
	}
	ho.Addr, ho.Certificate = "127.0.0.1:0", cert
	l, err := h3.Listen(srv, ho)
	if err != nil {
		t.Fatal(err)
	}
	l.Start()
	t.Cleanup(func() { l.Close() })
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return srv, l, &tls.Config{RootCAs: pool, ServerName: "localhost"}
}

// streamLoss is the StreamLoss the tests' clients get: TestWithStreamLoss
// runs them again with it on, which sends requests without a body on
// streams h3client opens itself. No test here runs in parallel.
var streamLoss bool

func client(t *testing.T, addr string, tc *tls.Config) *h3client.Client {
	t.Helper()
	c, err := h3client.New(h3client.Options{Addr: addr, TLSConfig: tc, DialTimeout: time.Second, StreamLoss: streamLoss})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func get(t *testing.T, c *h3client.Client, url string, info *roundtrip.Info) (int, error) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	resp, err := c.Do(req, info)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// Every request is a stream on one QUIC connection, by the client's count
// and by the server's; wait and service add up to the latency.
func TestOneConnection(t *testing.T) {
	srv, l, tc := server(t, mux.Options{}, h3.Options{})
	c := client(t, l.Addr(), tc)
	const n = 30
	var wg sync.WaitGroup
	infos := make([]roundtrip.Info, n)
	for i := range n {
		wg.Go(func() {
			if code, err := get(t, c, l.URL()+"/echo?delay=40ms&size=4096", &infos[i]); err != nil || code != 200 {
				t.Errorf("status %d, %v", code, err)
			}
		})
	}
	wg.Wait()
	st := c.Stats()
	if st.Dials != 1 || st.Requests != n || st.Failed != 0 || st.PeakStreams < 2 || len(st.PerConn) != 1 || st.PerConn[0].Requests != n {
		t.Errorf("client stats %+v", st)
	}
	if sv := srv.Stats().Listeners[mux.ListenerH3]; sv.ConnectionsAccepted != 1 || sv.Requests != n {
		t.Errorf("server %+v", sv)
	}
	for i, in := range infos {
		if in.Acquired.Before(in.Start) || in.End.Before(in.Acquired) || in.Service() < 40*time.Millisecond || in.Conn != st.PerConn[0].Conn {
			t.Errorf("request %d: %+v", i, in)
		}
	}
	if q := c.QUIC(); q.SmoothedRTT <= 0 || q.PacketsSent == 0 {
		t.Errorf("QUIC stats %+v", q)
	}
}

// Beyond the server's stream limit requests wait for QUIC's credit, and the
// wait shows as wait, not as service.
func TestStreamLimitWaits(t *testing.T) {
	srv, l, tc := server(t, mux.Options{}, h3.Options{MaxStreams: 4})
	c := client(t, l.Addr(), tc)
	if err := c.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	infos := make([]roundtrip.Info, 12)
	for i := range infos {
		wg.Go(func() {
			if _, err := get(t, c, l.URL()+"/echo?delay=50ms", &infos[i]); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	st := c.Stats()
	if st.WaitingPeak < 4 || st.Dials != 1 {
		t.Errorf("client stats %+v: want requests waiting on one connection", st)
	}
	waited := 0
	for _, in := range infos {
		if in.Wait() >= 40*time.Millisecond {
			waited++
		}
		if in.Service() > 200*time.Millisecond {
			t.Errorf("service %v: the wait for a stream counted as service", in.Service())
		}
	}
	if waited < 4 {
		t.Errorf("%d of 12 requests waited for a stream; want the 8 beyond the limit, at least 4", waited)
	}
	if sv := srv.Stats().Listeners[mux.ListenerH3]; sv.PeakInFlightPerConn > 4 {
		t.Errorf("the server saw %d in flight on one connection, above its limit of 4", sv.PeakInFlightPerConn)
	}
}

// A request in flight when the connection breaks fails, counted, with
// ErrConnLost; the next request dials again, and the reconnect is counted.
func TestConnectionLost(t *testing.T) {
	srv := muxtest.Start(t, mux.Options{H1Addr: "127.0.0.1:0"})
	cert, _ := mux.SelfSignedCertificate()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	l, err := h3.Listen(srv, h3.Options{PacketConn: pc, Certificate: cert})
	if err != nil {
		t.Fatal(err)
	}
	l.Start()
	c := client(t, addr, &tls.Config{InsecureSkipVerify: true})
	done := make(chan error, 1)
	go func() {
		_, err := get(t, c, "https://"+addr+"/echo?delay=5s", nil)
		done <- err
	}()
	muxtest.WaitFor(t, 5*time.Second, "the request in flight on the server", func() bool { return srv.Stats().Listeners[mux.ListenerH3].InFlight == 1 })
	l.Close()
	select {
	case err := <-done:
		if !errors.Is(err, h3client.ErrConnLost) {
			t.Errorf("request on a closed connection: %v, want ErrConnLost", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the request did not fail within 10s of the connection's end")
	}
	if st := c.Stats(); st.Failed != 1 {
		t.Errorf("failed %d, want 1", st.Failed)
	}
	// A new listener on the same port: the client reconnects.
	pc2, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("listening again on %s: %v", addr, err)
	}
	srv2 := muxtest.Start(t, mux.Options{H1Addr: "127.0.0.1:0"})
	l2, err := h3.Listen(srv2, h3.Options{PacketConn: pc2, Certificate: cert})
	if err != nil {
		t.Fatal(err)
	}
	l2.Start()
	defer l2.Close()
	if code, err := get(t, c, "https://"+addr+"/hello", nil); err != nil || code != 200 {
		t.Fatalf("after the reconnect: %d, %v", code, err)
	}
	if st := c.Stats(); st.Dials != 2 || st.Reconnects != 1 {
		t.Errorf("dials %d, reconnects %d; want 2 and 1", st.Dials, st.Reconnects)
	}
}

// A TCP-only port or a silent UDP port fails within the dial timeout,
// saying what was tried; a certificate that does not verify is named.
func TestHandshakeErrors(t *testing.T) {
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	_, l, _ := server(t, mux.Options{}, h3.Options{})
	for _, tc := range []struct {
		name, addr string
		tls        *tls.Config
		want       string
	}{
		{"tcp only", tcp.Addr().String(), nil, "over UDP"},
		{"silent udp", silent.LocalAddr().String(), nil, "no answer within the dial timeout"},
		{"untrusted certificate", l.Addr(), nil, "certificate does not verify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := client(t, tc.addr, tc.tls)
			// The error says what ended the dial ("no answer within the
			// dial timeout"): no clock is read.
			_, err := get(t, c, "https://"+tc.addr+"/hello", nil)
			if !errors.Is(err, h3client.ErrHandshake) || !strings.Contains(err.Error(), "QUIC handshake with "+tc.addr) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v; want ErrHandshake saying %q", err, tc.want)
			}
		})
	}
}

func TestBadOptions(t *testing.T) {
	for _, o := range []h3client.Options{{}, {Addr: "nohost"}, {Addr: "127.0.0.1:1", DialTimeout: -1}} {
		if _, err := h3client.New(o); err == nil {
			t.Errorf("New(%+v): no error", o)
		}
	}
}

// Close fails later requests with ErrClosed.
func TestClosed(t *testing.T) {
	_, l, tc := server(t, mux.Options{}, h3.Options{})
	c := client(t, l.Addr(), tc)
	if _, err := get(t, c, l.URL()+"/hello", nil); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := get(t, c, l.URL()+"/hello", nil); !errors.Is(err, h3client.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// With one stream allowed, requests go in the order they came: first come
// first served.
func TestWaitersFirstComeFirstServed(t *testing.T) {
	_, l, tc := server(t, mux.Options{}, h3.Options{MaxStreams: 1})
	c := client(t, l.Addr(), tc)
	if err := c.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	const n = 6
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := get(t, c, l.URL()+"/echo?delay=200ms", nil); err != nil {
				t.Error(err)
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
		})
		// Each request is on its way before the next one starts, and has
		// 10 ms to reach quic-go's queue: far less than the 200 ms the
		// first one holds the only stream.
		muxtest.WaitFor(t, 5*time.Second, "the request to start", func() bool {
			return c.Stats().InFlight == int64(i+1)
		})
		time.Sleep(10 * time.Millisecond)
	}
	wg.Wait()
	for i, got := range order {
		if got != i {
			t.Fatalf("requests finished in the order %v, want the order they came in", order)
		}
	}
}
