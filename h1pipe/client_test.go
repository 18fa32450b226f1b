package h1pipe_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"muxlab/h1pipe"
	"muxlab/internal/hostile"
	"muxlab/internal/muxtest"
	"muxlab/mux"
	"muxlab/roundtrip"
)

// get sends n GETs of path at once and returns their infos and errors.
func get(t *testing.T, c *h1pipe.Client, base string, paths []string, stagger time.Duration) ([]roundtrip.Info, []error) {
	t.Helper()
	infos, errs := make([]roundtrip.Info, len(paths)), make([]error, len(paths))
	var wg sync.WaitGroup
	for i, p := range paths {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+p, nil)
			resp, err := c.Do(req, &infos[i])
			if err != nil {
				errs[i] = err
				return
			}
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				errs[i] = err
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs[i] = fmt.Errorf("status %d", resp.StatusCode)
			}
		})
		time.Sleep(stagger) // written in this order
	}
	wg.Wait()
	return infos, errs
}

// On one connection the answers come in order: a slow first answer holds
// back every fast one behind it, by at least the slow one's delay, and
// says so in HeldBack; the server counts one connection.
func TestPipelineHoldsBackBehindASlowAnswer(t *testing.T) {
	srv := muxtest.Start(t, mux.Options{H1Addr: "127.0.0.1:0"})
	base := srv.URL(mux.ListenerH1)
	c, err := h1pipe.New(h1pipe.Options{Addr: strings.TrimPrefix(base, "http://")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The connection first; then the slow request, on the server before
	// any fast one is written.
	if _, errs := get(t, c, base, []string{"/hello"}, 0); errs[0] != nil {
		t.Fatal(errs[0])
	}
	var slowInfo []roundtrip.Info
	var slowErrs []error
	done := make(chan struct{})
	go func() {
		slowInfo, slowErrs = get(t, c, base, []string{"/echo?delay=300ms"}, 0)
		close(done)
	}()
	muxtest.WaitFor(t, 10*time.Second, "the slow request on the server", func() bool { return srv.Stats().Listeners[mux.ListenerH1].InFlight == 1 })
	var fast []string
	for range 9 {
		fast = append(fast, "/echo")
	}
	fastInfo, fastErrs := get(t, c, base, fast, 0)
	<-done
	infos, errs := append(slowInfo, fastInfo...), append(slowErrs, fastErrs...)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	for i, in := range infos[1:] {
		if in.HeldBack < 200*time.Millisecond || in.End.Sub(in.Start) < 200*time.Millisecond || in.Conn != 1 {
			t.Errorf("fast request %d: held back %v, took %v on conn %d; want behind the 300 ms one", i+1, in.HeldBack, in.End.Sub(in.Start), in.Conn)
		}
	}
	if infos[0].HeldBack != 0 {
		t.Errorf("the first answer was held back %v", infos[0].HeldBack)
	}
	st := srv.Stats().Listeners[mux.ListenerH1]
	if st.ConnectionsAccepted != 1 || st.Requests != 11 || c.Stats().Dials != 1 || c.Stats().Requests != 11 {
		t.Errorf("server %+v, client %+v; want one connection carrying 10", st, c.Stats())
	}
}

// A server that says "Connection: close" every fifth answer and closes:
// the requests written behind it are sent again on a new connection, and
// counted; none is lost.
func TestPipelineResendsWhatAClosingServerDidNotAnswer(t *testing.T) {
	var n, conns atomic.Int64
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%5 == 0 {
			w.Header().Set("Connection", "close")
		}
		io.WriteString(w, "ok")
	}))
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	ts.Start()
	defer ts.Close()
	c, _ := h1pipe.New(h1pipe.Options{Addr: strings.TrimPrefix(ts.URL, "http://")})
	defer c.Close()
	paths := make([]string, 20)
	for i := range paths {
		paths[i] = "/"
	}
	_, errs := get(t, c, ts.URL, paths, 0)
	for i, err := range errs {
		if err != nil {
			t.Errorf("request %d: %v", i, err)
		}
	}
	st := c.Stats()
	if st.Requests != 20 || st.Failed != 0 || st.Retries == 0 || st.Dials < 4 || st.Dials != conns.Load() {
		t.Errorf("client %+v, server connections %d; want every request answered, the unanswered sent again", st, conns.Load())
	}
}

// A server that closes every connection without answering: each request is
// sent again up to h1pipe.MaxAttempts times, then fails as a lost
// connection; none hangs.
func TestPipelineFailsWhatIsNeverAnswered(t *testing.T) {
	addr := hostile.Listen(t, func(cn net.Conn) { cn.Read(make([]byte, 1024)) })
	c, _ := h1pipe.New(h1pipe.Options{Addr: addr})
	defer c.Close()
	_, errs := get(t, c, "http://"+addr, []string{"/a", "/b", "/c"}, 0)
	for i, err := range errs {
		if !errors.Is(err, roundtrip.ErrConnLost) {
			t.Errorf("request %d: %v, want ErrConnLost", i, err)
		}
	}
	if st := c.Stats(); st.Failed != 3 || st.Retries != 3*(h1pipe.MaxAttempts-1) {
		t.Errorf("client %+v", st)
	}
}

// Hostile answers (internal/hostile) cost the client its bounds, not its
// memory: a head that never ends or a line that never ends fails as too
// large at MaxResponseHeaderBytes, a body that never ends at MaxBodyBytes,
// and a body cut short as a lost connection; none hangs, and none is sent
// again: the server answered it, badly.
func TestPipelineBoundsHostileAnswers(t *testing.T) {
	srv := hostile.Serve(t, "")
	for _, tc := range []struct {
		path string
		want error
	}{
		{hostile.PathEndlessHead, roundtrip.ErrResponseTooLarge},
		{hostile.PathLongLine, roundtrip.ErrResponseTooLarge},
		{hostile.PathEndlessBody, roundtrip.ErrResponseTooLarge},
		{hostile.PathShort, roundtrip.ErrConnLost},
	} {
		c, _ := h1pipe.New(h1pipe.Options{Addr: srv.Addr(), MaxResponseHeaderBytes: 64 << 10, MaxBodyBytes: 1 << 20})
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL()+tc.path, nil)
		if _, err := c.Do(req, nil); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.path, err, tc.want)
		}
		if st := c.Stats(); st.Retries != 0 || st.Failed != 1 { // answered, badly: not sent again
			t.Errorf("%s: %+v; want one failure and no retry", tc.path, st)
		}
		cancel()
		c.Close()
	}
}

func TestOptions(t *testing.T) {
	for _, o := range []h1pipe.Options{{}, {Addr: "x:1", Conns: -1}, {Addr: "x:1", Depth: h1pipe.MaxDepth + 1}} {
		if _, err := h1pipe.New(o); err == nil || !strings.HasPrefix(err.Error(), "h1pipe: ") {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

// With Conns 2 and many requests at once, the server counts exactly two
// connections, each carrying its share.
func TestExactlyConns(t *testing.T) {
	srv := muxtest.Start(t, mux.Options{H1Addr: "127.0.0.1:0"})
	base := srv.URL(mux.ListenerH1)
	c, _ := h1pipe.New(h1pipe.Options{Addr: strings.TrimPrefix(base, "http://"), Conns: 2})
	defer c.Close()
	paths := make([]string, 40)
	for i := range paths {
		paths[i] = "/echo?delay=5ms"
	}
	_, errs := get(t, c, base, paths, 0)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	st, cs := srv.Stats().Listeners[mux.ListenerH1], c.Stats()
	if st.ConnectionsAccepted != 2 || cs.Dials != 2 || len(cs.PerConn) != 2 || cs.PerConn[0].Requests == 0 || cs.PerConn[1].Requests == 0 {
		t.Errorf("server %d connections, client %+v; want exactly 2, both used", st.ConnectionsAccepted, cs)
	}
}
