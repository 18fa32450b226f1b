package hostile

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"sync"
	"testing"

	"muxlab/mux"
)

// Serve starts a Server for the rest of tb and closes it when tb ends.
func Serve(tb testing.TB, every string) *Server {
	tb.Helper()
	s, err := Start(every)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// ServeH3 starts an H3 with a new self-signed certificate for the rest of
// tb, and returns it with TLS settings that trust it.
func ServeH3(tb testing.TB, every string) (*H3, *tls.Config) {
	tb.Helper()
	cert, err := mux.SelfSignedCertificate()
	if err != nil {
		tb.Fatal(err)
	}
	s, err := StartH3(cert, every)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		tb.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return s, &tls.Config{RootCAs: roots, ServerName: "localhost"}
}

// Listen accepts TCP connections on 127.0.0.1 for the rest of tb and hands
// each to serve in a goroutine of its own, closing it when serve returns or
// tb ends: a server of a test's own making (silent, closing, ...). It
// returns the address.
func Listen(tb testing.TB, serve func(net.Conn)) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	tb.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			go func() {
				serve(c)
				c.Close()
			}()
		}
	}()
	return ln.Addr().String()
}
