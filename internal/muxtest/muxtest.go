// Package muxtest starts the mux demo server for the tests of other
// packages: clients and the harness are judged by its ground truth.
package muxtest

import (
	"testing"

	"muxlab/mux"
)

// Start serves a mux server with opts for the rest of tb (use "127.0.0.1:0"
// addresses for ports the kernel picks) and closes it when tb ends.
func Start(tb testing.TB, opts mux.Options) *mux.Server {
	tb.Helper()
	s, err := mux.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	s.Start()
	tb.Cleanup(func() { s.Close() })
	return s
}
