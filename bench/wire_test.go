package bench_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"muxlab/bench"
	"muxlab/results"
)

// TestSameRequestOnTheWire: every contender sends the same request headers,
// as the server receives them.
func TestSameRequestOnTheWire(t *testing.T) {
	var mu sync.Mutex
	var seen []http.Header
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Clone()
		mu.Lock()
		h.Set("X-Proto", r.Proto) // not compared: only to say who sent it
		seen = append(seen, h)
		mu.Unlock()
	}))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	defer srv.Close()
	sc := results.Scenario{Name: "wire", Mode: results.Closed, Endpoint: "/echo", Requests: 6, Concurrency: 1, Rounds: 1, Conns: 1}
	r := run(t, context.Background(), bench.Options{Scenario: sc, Contenders: []string{"h1", "h2", "hey"},
		Targets: targets(t, srv.URL, srv.URL), Version: "test", Truth: noTruth})
	accounted(t, r)
	// 21 round-trip probes and the measured requests of each contender.
	if len(seen) < 3*6 {
		t.Fatalf("the server saw %d requests", len(seen))
	}
	first := seen[0]
	for _, h := range seen[1:] {
		k := h.Get("X-Proto")
		if len(h) != len(first) {
			t.Errorf("%s sent headers %v, another sent %v", k, h, first)
		}
		for name := range first {
			if name != "X-Proto" && h.Get(name) != first.Get(name) {
				t.Errorf("%s: %s is %q, another sent %q", k, name, h.Get(name), first.Get(name))
			}
		}
	}
}

// noTruth is a server without counts of its own.
var noTruth = bench.TruthFuncs{ResetFunc: func() {}, SnapshotFunc: func() bench.ServerSnapshot { return nil }}
