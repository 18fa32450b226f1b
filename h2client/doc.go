// Package h2client is an HTTP/2 client that carries every request as a stream
// on exactly one connection, waiting for a free stream slot rather than
// opening a second connection.
//
// It is one side of muxlab's comparison. The HTTP/2 protocol is
// golang.org/x/net/http2's: a ClientConn made with Transport.NewClientConn on
// a connection the client dials itself (h2c with prior knowledge by default;
// an Options.Dial that returns a *tls.Conn gives HTTP/2 over TLS with ALPN
// h2). Before the first request is sent, the client waits for the server's
// SETTINGS, so that its MAX_CONCURRENT_STREAMS is known and never exceeded;
// requests beyond it wait, first come first served, for a stream slot.
//
// When the server sends GOAWAY or the connection breaks, the next request
// dials again, counted in Stats.Reconnects. Requests in flight on a broken
// connection fail with an error and are counted in Stats.Failed; they are
// never retried silently. A server that does not speak h2c fails the first
// request quickly with an error that says so.
//
// Do fills a roundtrip.Info for each request: how long it waited for a stream
// slot (and, for the first, for the connection), which connection carried it,
// and when its body ended. A Client is also an http.RoundTripper.
//
// # Cost
//
// BenchmarkGet (a GET of /hello from an in-process mux server on loopback, 2
// cores, Go 1.26, go test -bench . -benchmem -count 3):
//
//	client      in flight   ns/op    B/op   allocs/op
//	h2client    1           33,200   7,345  77
//	ClientConn  1           33,600   7,200  76
//	h2client    100         24,300   7,810  76
//	ClientConn  100         24,200   7,630  75
//
// Against a bare x/net ClientConn on one connection the client's time is
// within the run-to-run noise (under 1%). It adds one allocation of about 150
// bytes per request: the body wrapper that frees the stream slot at EOF and
// stamps Info.End. Recycling it would let a caller's second Close reach
// another request's body, so the allocation stays.
package h2client
