package h3client_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"testing"

	"github.com/quic-go/quic-go/http3"

	"muxlab/h3client"
	"muxlab/mux"
	"muxlab/mux/h3"
)

// BenchmarkGet measures a tiny GET through the client beside the same GET
// through quic-go's own http3.Transport, one at a time and with 100 in
// flight, against the mux server's HTTP/3 listener on loopback. h2client's
// BenchmarkGet is the same over HTTP/2.
func BenchmarkGet(b *testing.B) {
	s, err := mux.New(mux.Options{H1Addr: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	s.Start()
	defer s.Close()
	l, err := h3.Listen(s, h3.Options{Addr: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	l.Start()
	url := l.URL() + "/hello"
	insecure := &tls.Config{InsecureSkipVerify: true}
	for _, inflight := range []int{1, 100} {
		for _, client := range []string{"h3client", "transport"} {
			b.Run(fmt.Sprintf("client=%s/inflight=%d", client, inflight), func(b *testing.B) {
				var rt http.RoundTripper
				if client == "h3client" {
					c, err := h3client.New(h3client.Options{Addr: l.Addr(), TLSConfig: insecure})
					if err != nil {
						b.Fatal(err)
					}
					defer c.Close()
					rt = c
				} else {
					t := &http3.Transport{TLSClientConfig: insecure, DisableCompression: true}
					defer t.Close()
					rt = t
				}
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
