package h2client

import (
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// BenchmarkClients weighs the ways issue 15 considered for the h2
// contender's HTTP/2 path, by CPU per request with 100 streams in flight
// on one connection to net/http's server (in process, the same for each):
// x/net's ClientConn as it is, the same over batchConn (its HEADERS sent in
// batches), and h2client's frame-level client (wire).
//
//	go test -run '^$' -bench Clients -benchtime 50000x ./h2client
func BenchmarkClients(b *testing.B) {
	addr := h2cServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello, world\n") }))
	url := "http://" + addr + "/hello"
	for _, name := range []string{"clientconn", "clientconn+batch", "h2client"} {
		b.Run("client="+name, func(b *testing.B) {
			rt, closeFn := h2RoundTripper(b, name, addr)
			defer closeFn()
			b.SetParallelism(50) // 100 in flight on 2 cores
			b.ReportAllocs()
			cpu0 := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				buf := make([]byte, 512)
				for pb.Next() {
					resp, err := rt.RoundTrip(req)
					if err != nil {
						b.Error(err)
						return
					}
					for err == nil {
						_, err = resp.Body.Read(buf)
					}
					resp.Body.Close()
					if err != io.EOF {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

func h2RoundTripper(b *testing.B, name, addr string) (http.RoundTripper, func()) {
	if name == "h2client" {
		c, err := New(Options{Addr: addr})
		if err != nil {
			b.Fatal(err)
		}
		return c, func() { c.Close() }
	}
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	if name == "clientconn+batch" {
		nc = newBatchConn(nc)
	}
	t := &http2.Transport{AllowHTTP: true, StrictMaxConcurrentStreams: true, DisableCompression: true}
	cc, err := t.NewClientConn(nc)
	if err != nil {
		b.Fatal(err)
	}
	return cc, func() { cc.Close() }
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
