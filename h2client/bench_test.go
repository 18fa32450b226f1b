package h2client_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"testing"

	"golang.org/x/net/http2"

	"muxlab/h2client"
	"muxlab/mux"
)

// BenchmarkGet measures a tiny GET through the client beside the same GET
// through a bare x/net ClientConn on one connection, one at a time and with
// 100 in flight.
func BenchmarkGet(b *testing.B) {
	s, err := mux.New(mux.Options{H2CAddr: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	s.Start()
	defer s.Close()
	url := s.URL(mux.ListenerH2C) + "/hello"
	for _, inflight := range []int{1, 100} {
		for _, client := range []string{"h2client", "clientconn"} {
			b.Run(fmt.Sprintf("client=%s/inflight=%d", client, inflight), func(b *testing.B) {
				rt, closeRT := newRoundTripper(b, client, s.Addr(mux.ListenerH2C))
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
	if client == "h2client" {
		c, err := h2client.New(h2client.Options{Addr: addr})
		if err != nil {
			b.Fatal(err)
		}
		return c, func() { c.Close() }
	}
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	t := &http2.Transport{AllowHTTP: true, StrictMaxConcurrentStreams: true}
	cc, err := t.NewClientConn(nc)
	if err != nil {
		b.Fatal(err)
	}
	return cc, func() { cc.Close() }
}
