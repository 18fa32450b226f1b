package h1pool_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"muxlab/h1pool"
)

// BenchmarkClients weighs the ways issue 15 considered for the h1
// contender's HTTP/1.1 path, by CPU per request: h1pool as it is, a bare
// net/http Transport limited to the same six connections, and fasthttp's
// HostClient with six connections. The server is a canned one that answers
// every request head with the same bytes, so that nearly all the CPU is the
// client's; cpu-µs/op is the process's CPU (client and canned server) per
// request, 60 in flight.
//
//	go test -run '^$' -bench Clients -benchtime 100000x ./h1pool
func BenchmarkClients(b *testing.B) {
	addr := cannedServer(b)
	url := "http://" + addr + "/hello"
	for _, name := range []string{"h1pool", "transport", "fasthttp"} {
		b.Run("client="+name, func(b *testing.B) {
			do, closeFn := h1Doer(b, name, addr, url)
			defer closeFn()
			b.SetParallelism(30) // 60 in flight on 2 cores
			b.ReportAllocs()
			cpu0 := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := do(); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// h1Doer returns a function that sends one GET through the named client
// and reads its body.
func h1Doer(b *testing.B, name, addr, url string) (func() error, func()) {
	switch name {
	case "h1pool", "transport":
		var rt http.RoundTripper
		var closeFn func()
		if name == "h1pool" {
			p, err := h1pool.New(h1pool.Options{Addr: addr})
			if err != nil {
				b.Fatal(err)
			}
			rt, closeFn = p, func() { p.Close() }
		} else {
			var protos http.Protocols
			protos.SetHTTP1(true)
			t := &http.Transport{Protocols: &protos, MaxConnsPerHost: 6, MaxIdleConnsPerHost: 6, DisableCompression: true}
			rt, closeFn = t, t.CloseIdleConnections
		}
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		var pool sync.Pool
		return func() error {
			resp, err := rt.RoundTrip(req)
			if err != nil {
				return err
			}
			buf, _ := pool.Get().(*[]byte)
			if buf == nil {
				buf = new([]byte)
				*buf = make([]byte, 512)
			}
			for err == nil {
				_, err = resp.Body.Read(*buf)
			}
			pool.Put(buf)
			resp.Body.Close()
			if err != io.EOF {
				return err
			}
			return nil
		}, closeFn
	default:
		c := &fasthttp.HostClient{Addr: addr, MaxConns: 6, MaxConnWaitTimeout: time.Minute}
		return func() error {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI(url)
			if err := c.Do(req, resp); err != nil {
				return err
			}
			if resp.StatusCode() != http.StatusOK {
				return fmt.Errorf("status %d", resp.StatusCode())
			}
			return nil
		}, c.CloseIdleConnections
	}
}

// cannedServer answers every request head on every connection with the
// same response, and returns its address.
func cannedServer(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	answer := []byte("HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain; charset=utf-8\r\n" +
		"Date: Mon, 30 Nov 2026 20:00:00 GMT\r\n\r\nhello, world\n")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				var pending []byte
				buf := make([]byte, 4096)
				for {
					n, err := br.Read(buf)
					if err != nil {
						return
					}
					pending = append(pending, buf[:n]...)
					var out []byte
					for {
						i := bytes.Index(pending, []byte("\r\n\r\n"))
						if i < 0 {
							break
						}
						pending = pending[i+4:]
						out = append(out, answer...)
					}
					if len(out) > 0 {
						if _, err := c.Write(out); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// cpuTime is the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
