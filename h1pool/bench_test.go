package h1pool_test

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"testing"

	"muxlab/h1pool"
	"muxlab/mux"
)

// BenchmarkGet measures a tiny GET through the pool beside the same GET
// through a bare http.Transport limited to the same number of connections,
// one at a time and with 100 in flight.
func BenchmarkGet(b *testing.B) {
	s, err := mux.New(mux.Options{H1Addr: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	s.Start()
	defer s.Close()
	url := s.URL(mux.ListenerH1) + "/hello"
	for _, inflight := range []int{1, 100} {
		for _, client := range []string{"h1pool", "transport"} {
			b.Run(fmt.Sprintf("client=%s/inflight=%d", client, inflight), func(b *testing.B) {
				rt, closeRT := newRoundTripper(b, client, s.Addr(mux.ListenerH1))
				defer closeRT()
				b.ReportAllocs()
				b.SetParallelism((inflight + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
				b.RunParallel(func(pb *testing.PB) {
					req, _ := http.NewRequest("GET", url, nil)
					for pb.Next() {
						resp, err := rt.RoundTrip(req)
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				})
			})
		}
	}
}

func newRoundTripper(b *testing.B, client, addr string) (http.RoundTripper, func()) {
	switch client {
	case "h1pool":
		p, err := h1pool.New(h1pool.Options{Addr: addr})
		if err != nil {
			b.Fatal(err)
		}
		return p, func() { p.Close() }
	default:
		var protos http.Protocols
		protos.SetHTTP1(true)
		t := &http.Transport{Protocols: &protos, MaxConnsPerHost: h1pool.DefaultConns,
			MaxIdleConnsPerHost: h1pool.DefaultConns, DisableCompression: true}
		return t, t.CloseIdleConnections
	}
}
