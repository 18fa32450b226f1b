package bench_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"muxlab/bench"
	"muxlab/internal/hostile"
	"muxlab/internal/muxtest"
	"muxlab/mux"
	"muxlab/report"
	"muxlab/results"
)

// remote starts a mux server that the run reaches over HTTP, as another
// process would be.
func remote(t *testing.T, h1, h2c string) *mux.Server {
	t.Helper()
	return muxtest.Start(t, mux.Options{H1Addr: h1, H2CAddr: h2c})
}

func timedScenario(d time.Duration) results.Scenario {
	return results.Scenario{Name: "fault", Mode: results.Closed, Endpoint: "/echo", Delay: results.Duration(5 * time.Millisecond),
		Duration: results.Duration(d), Concurrency: 8, Rounds: 1, Conns: 6}
}

// TestServerDiesMidRun: the run ends, every request is ok or failed with a
// kind, and the result (which says what failed) is written.
func TestServerDiesMidRun(t *testing.T) {
	s := remote(t, "127.0.0.1:0", "127.0.0.1:0")
	opts := bench.Options{Scenario: timedScenario(1500 * time.Millisecond), Contenders: []string{"h2", "h1"},
		Targets: targets(t, s.URL(mux.ListenerH1), s.URL(mux.ListenerH2C)), DialTimeout: time.Second}
	go func() {
		if !muxtest.Eventually(10*time.Second, func() bool { return s.Stats().Listeners[mux.ListenerH2C].Requests >= 100 }) {
			t.Error("the h2 turn never reached 100 requests")
		}
		s.Close()
	}()
	r := run(t, context.Background(), opts)
	accounted(t, r)
	h2 := r.Contender("h2").Rounds[0]
	if h2.OK == 0 || h2.Failed == 0 || len(h2.Errors) == 0 {
		t.Errorf("h2 turn: %d ok, %d failed, errors %v; want both, with kinds", h2.OK, h2.Failed, h2.Errors)
	}
	h1 := r.Contender("h1").Rounds[0]
	if h1.OK != 0 || h1.Failed == 0 || h1.Errors["connection refused"] != h1.Failed {
		t.Errorf("h1 turn against a dead server: %d ok, %d failed, errors %v", h1.OK, h1.Failed, h1.Errors)
	}
	dir := t.TempDir()
	path, err := results.Write(dir, r)
	if err != nil {
		t.Fatal(err)
	}
	back, err := results.Read(path)
	if err != nil || back.Contender("h1").Total.Failed != h1.Failed {
		t.Errorf("written result: %v", err)
	}
	var table strings.Builder
	report.WriteTable(&table, r)
	if !strings.Contains(table.String(), "errors of h1 (6 connections): connection refused:") {
		t.Errorf("the table does not say what failed:\n%s", table.String())
	}
}

// TestGracefulRestartMidRun: a graceful shutdown sends GOAWAY; h2client
// dials the restarted server once, counted as a reconnect.
func TestGracefulRestartMidRun(t *testing.T) {
	a := remote(t, "127.0.0.1:0", "127.0.0.1:0")
	h1, h2c := a.Addr(mux.ListenerH1), a.Addr(mux.ListenerH2C)
	opts := bench.Options{Scenario: timedScenario(1500 * time.Millisecond), Contenders: []string{"h2"},
		Targets: targets(t, "http://"+h1, "http://"+h2c),
		Truth:   bench.TruthFuncs{ResetFunc: func() {}, SnapshotFunc: func() bench.ServerSnapshot { return nil }}}
	restarted := make(chan *mux.Server, 1)
	go func() {
		if !muxtest.Eventually(10*time.Second, func() bool { return a.Stats().Listeners[mux.ListenerH2C].Requests >= 100 }) {
			t.Error("the h2 turn never reached 100 requests")
		}
		go a.Shutdown(context.Background())
		var b *mux.Server
		if !muxtest.Eventually(10*time.Second, func() bool {
			var err error
			b, err = mux.New(mux.Options{H1Addr: h1, H2CAddr: h2c})
			return err == nil
		}) {
			t.Error("the server could not listen again on its ports")
			restarted <- nil
			return
		}
		b.Start()
		restarted <- b
	}()
	r := run(t, context.Background(), opts)
	b := <-restarted
	if b == nil {
		t.FailNow()
	}
	defer b.Close()
	accounted(t, r)
	rd := r.Contender("h2").Rounds[0]
	if rd.Client.Reconnects != 1 || rd.Client.Dials != 2 {
		t.Errorf("client: %+v; want 2 dials, 1 reconnect", rd.Client)
	}
	if rd.OK == 0 || b.Stats().Listeners[mux.ListenerH2C].ConnectionsAccepted != 1 {
		t.Errorf("%d ok; the restarted server accepted %d connections, want 1", rd.OK, b.Stats().Listeners[mux.ListenerH2C].ConnectionsAccepted)
	}
}

// TestSilentServer: a server that accepts and never answers makes the run
// fail within the dial timeout, before anything is measured.
func TestSilentServer(t *testing.T) {
	silent := make(chan struct{})
	defer close(silent)
	url := "http://" + hostile.Listen(t, func(net.Conn) { <-silent })
	for _, contenders := range [][]string{{"h2"}, {"h1"}} {
		// A guard, not a measure: the run must give up by its 200ms dial
		// timeout, long before this context ends.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		_, err := bench.Run(ctx, bench.Options{Scenario: timedScenario(time.Second), Contenders: contenders,
			Targets: targets(t, url, url), DialTimeout: 200 * time.Millisecond})
		stopped := ctx.Err()
		cancel()
		if err == nil {
			t.Fatalf("%v: a silent server was measured", contenders)
		}
		if stopped != nil {
			t.Errorf("%v: the run did not give up by its dial timeout: %v", contenders, err)
		}
	}
}

// TestServerStopsAnswering: once the run has started, a server that stops
// answering makes every request time out, counted as such, and the run ends.
func TestServerStopsAnswering(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" || r.URL.Path == "/hello" {
			return // preflight and round-trip probe
		}
		<-r.Context().Done()
	}))
	defer hang.Close()
	sc := results.Scenario{Name: "hang", Mode: results.Closed, Endpoint: "/echo", Requests: 8, Concurrency: 4, Rounds: 1, Conns: 2}
	r := run(t, context.Background(), bench.Options{Scenario: sc, Contenders: []string{"h1"}, Targets: targets(t, hang.URL, ""),
		Timeout: 300 * time.Millisecond})
	accounted(t, r)
	rd := r.Contenders[0].Rounds[0]
	if rd.Sent != 8 || rd.Errors["timeout"] != 8 {
		t.Errorf("sent %d, errors %v; want 8 timeouts", rd.Sent, rd.Errors)
	}
}
