package hostile

import (
	"crypto/tls"
	"crypto/x509"
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
