package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/http2"

	"muxlab/h1pool"
	"muxlab/h2client"
	"muxlab/h3client"
	"muxlab/internal/muxtest"
	"muxlab/mux"
	"muxlab/results"
	"muxlab/roundtrip"
)

// TestHeyOutputUnreadable: requests whose hey lines cannot be read are
// failures of their own kind, one each, and nothing is counted twice.
func TestHeyOutputUnreadable(t *testing.T) {
	rows, err := parseHeyCSV([]byte("response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,status-code,offset\n" +
		"0.0012,0,0,0,0,0,200,0.0100\n0.0000,0,0,0,0,0,200,0.0105\nnot a line\n"))
	if err == nil || len(rows) != 2 {
		t.Fatalf("rows %d, err %v", len(rows), err)
	}
	if rows[1].latency != heyResolution/4 || rows[1].offset != 10500*time.Microsecond {
		t.Errorf("a printed 0 was read as %v (offset %v), want %v", rows[1].latency, rows[1].offset, heyResolution/4)
	}
	res := heyResult{sent: 5, rows: rows, err: err}
	if got, want := res.span(), 1200*time.Microsecond; got != want {
		t.Errorf("span %v, want %v (first start to last end)", got, want)
	}
	rec := newRecorder()
	res.into(rec)
	if rec.sent != 5 || rec.ok != 2 || rec.failed != 3 || len(rec.errs) != 1 {
		t.Errorf("sent %d ok %d failed %d errors %v", rec.sent, rec.ok, rec.failed, rec.errs)
	}
}

// TestHeyStoppedBeforeItRuns: a hey run whose context is already done
// returns at once and leaves no goroutine behind.
func TestHeyStoppedBeforeItRuns(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	before := runtime.NumGoroutine()
	sc := results.Scenario{Mode: results.Closed, Endpoint: "/hello"}
	j := heyJob{base: "http://127.0.0.1:1", targets: paths(&sc), sc: &sc, c: 2, timeout: 1, progress: new(atomic.Int64)}
	if res := j.run(ctx, 4, nil); res.sent != 0 {
		t.Errorf("hey sent %d requests after its context ended", res.sent)
	}
	muxtest.WaitFor(t, 5*time.Second, "the run's goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

// TestClientNotBuilt: a turn whose client cannot be built says why, and its
// requests are unsent.
func TestClientNotBuilt(t *testing.T) {
	sc := results.Scenario{Mode: results.Closed, Endpoint: "/hello", Requests: 40, Concurrency: 2, Rounds: 1, Conns: 1}
	d, _ := LookupContender(H1)
	d.newClient = func(Target, int, time.Duration, *results.Scenario) (Client, error) {
		return nil, errors.New("no client today")
	}
	opts := &Options{Scenario: sc, Truth: TruthFuncs{ResetFunc: func() {}, SnapshotFunc: func() ServerSnapshot { return nil }}}
	r := &runner{opts: opts, truth: opts.Truth}
	rd := r.turn(context.Background(), newContender(d, Target{Listener: "h1"}, &opts.Scenario), 1)
	if rd.Error == "" || rd.Scheduled != 40 || rd.Unsent != 40 || rd.Sent != 0 {
		t.Errorf("round %+v; want an error and 40 unsent", rd)
	}
}

// TestModelWithoutRTT: a failed round-trip probe is said, and no prediction
// rests on a round trip of 0.
func TestModelWithoutRTT(t *testing.T) {
	sc := results.Scenario{Mode: results.Page, Objects: 100, Pages: 1, Conns: 6}
	d, _ := LookupContender(H1)
	c := newContender(d, Target{}, &sc)
	c.rttErr = errors.New("probe failed")
	sc.Delay = results.Duration(50 * time.Millisecond)
	loopback := &results.Network{Profile: "loopback"}
	m := c.model(&sc, loopback, 0, &results.Dist{Count: 1, P50: 900})
	if m.Turns != 17 || m.RTTError == "" || m.Predicted != 0 || m.Deviation != 0 {
		t.Errorf("model %+v", m)
	}
	c.rttErr, c.rtt = nil, time.Millisecond
	if m := c.model(&sc, loopback, 0, nil); m.Predicted != results.Duration(17*51*time.Millisecond) || m.Bound != "round trips" {
		t.Errorf("model %+v", m)
	}
}

// The page model over a bottleneck: HTTP/1.1's turns and HTTP/2's one
// turn both wait for the page's bytes; a cold page adds its handshakes.
func TestModelOverALink(t *testing.T) {
	t.Parallel()
	sc := results.Scenario{Mode: results.Page, Objects: 100, Pages: 1, Conns: 6, Size: 10 << 10}
	net := &results.Network{Emulated: true, DownBPS: 10_000_000}
	obj := objectTime(sc.Size, net.DownBPS)
	if obj < 8*time.Millisecond || obj > 9*time.Millisecond {
		t.Fatalf("a 10 KiB object at 10 Mbit/s takes %v, want about 8.6ms", obj)
	}
	rtt := 40 * time.Millisecond
	for _, tc := range []struct {
		name  string
		delay time.Duration
		cold  bool
		want  map[string]time.Duration // by contender
		bound string
	}{
		{"bandwidth bound", 0, false, map[string]time.Duration{H1: 100*obj + rtt, H2: 100*obj + rtt}, "bandwidth"},
		{"round trips bound", 30 * time.Millisecond, false, map[string]time.Duration{H1: 17 * (70*time.Millisecond + obj), H2: 100*obj + 70*time.Millisecond}, ""},
		{"cold", 0, true, map[string]time.Duration{H1: 100*obj + 2*rtt, H2: 100*obj + 3*rtt}, "bandwidth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := sc
			s.Delay, s.Cold = results.Duration(tc.delay), tc.cold
			for name, want := range tc.want {
				d, _ := LookupContender(name)
				c := newContender(d, Target{}, &s)
				c.rtt = rtt
				m := c.model(&s, net, 100, nil)
				if got := m.Predicted.D(); got != want {
					t.Errorf("%s: predicted %v, want %v (%+v)", name, got, want, m)
				}
				if tc.bound != "" && m.Bound != tc.bound {
					t.Errorf("%s: bound %q, want %q", name, m.Bound, tc.bound)
				}
			}
		})
	}
}

func TestMatchListener(t *testing.T) {
	t.Parallel()
	snap := ServerSnapshot{
		"h1":   {Addr: "127.0.0.1:8080", ConnectionsAccepted: 6},
		"h2c":  {Addr: "127.0.0.1:8081", ConnectionsAccepted: 1},
		"both": {Addr: "[::]:9000"}, "also": {Addr: "[::]:9000"},
	}
	for _, tc := range []struct {
		name  string
		t     Target
		want  string // listener matched; "" for none
		exact bool
	}{
		{"exact", Target{Listener: "h1", Addr: "127.0.0.1:8080"}, "h1", true},
		{"by address", Target{Listener: "x", Addr: "127.0.0.1:8081"}, "h2c", false},
		{"by name", Target{Listener: "h1", Addr: "localhost:8080"}, "h1", false},
		{"ambiguous", Target{Listener: "y", Addr: "[::]:9000"}, "also", false},
		{"none", Target{Listener: "z", Addr: "127.0.0.1:1"}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := snap.match(tc.t)
			switch {
			case tc.want == "" && got != nil, tc.want != "" && got == nil:
				t.Fatalf("match = %+v, want %q", got, tc.want)
			case got == nil:
			case got.Listener != tc.want || (got.Match == "") != tc.exact:
				t.Errorf("matched %s (%q), want %s, exact %v", got.Listener, got.Match, tc.want, tc.exact)
			}
		})
	}
}

func TestErrorKindByType(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("x: %w", context.DeadlineExceeded), "timeout"},
		{fmt.Errorf("x: %w: %w", roundtrip.ErrStreamReset, http2.StreamError{StreamID: 1, Code: http2.ErrCodeRefusedStream}), "stream reset"},
		{fmt.Errorf("x: %w", h2client.GoAwayError{LastStreamID: 1}), "refused by GOAWAY"},
		{fmt.Errorf("x: %w", h2client.ErrConnLost), "connection closed"},
		{fmt.Errorf("x: %w", h3client.ErrConnLost), "connection closed"},
		{fmt.Errorf("x: %w", h2client.ErrHandshake), "handshake"},
		{fmt.Errorf("x: %w", h3client.ErrHandshake), "handshake"},
		{fmt.Errorf("x: %w", h1pool.ErrClosed), "client closed"},
		{fmt.Errorf("x: %w", roundtrip.ErrResponseTooLarge), "response too large"},
		// x/net's own types are no kind of muxlab's: the clients wrap them.
		{http2.StreamError{StreamID: 1, Code: http2.ErrCodeRefusedStream}, "other"},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, "connection refused"},
		{&net.OpError{Op: "dial", Err: errors.New("no route")}, "dial"},
		// The text of a message says nothing.
		{errors.New("http2: stream error: GOAWAY connection lost"), "other"},
	} {
		if got := errorKind(tc.err); got != tc.want {
			t.Errorf("errorKind(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// TestSessionCloseStopsItsWatch: a turn's session no longer watches the
// run's context once closed, so that turns do not pile up callbacks on it.
func TestSessionCloseStopsItsWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		sc := results.Scenario{Mode: results.Closed, Endpoint: "/hello", Duration: results.Duration(time.Hour)}
		s, err := newSession(ctx, &sc, "http://127.0.0.1:1", nil, &Options{}, new(atomic.Int64))
		if err != nil {
			t.Fatal(err)
		}
		s.arm()
		s.close()
		cancel()
		time.Sleep(2 * time.Hour) // the bubble's clock: past the duration
		synctest.Wait()
		if s.stop.Load() {
			t.Error("the closed session was stopped by the run's context or its duration")
		}
	})
}

// TestResetHeader: bench's copy of the header a reset must carry is the
// server's.
func TestResetHeader(t *testing.T) {
	if headerReset != mux.HeaderReset {
		t.Errorf("bench sends %q; the server wants %q", headerReset, mux.HeaderReset)
	}
}
