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
// cores, Go 1.26, go test -bench Get -benchmem; absolute times vary with
// the machine's load, the comparison within one run does not):
//
//	client      in flight   ns/op     B/op   allocs/op
//	h2client    1           143,000   7,826  77
//	ClientConn  1           143,300   7,171  74
//	h2client    100          71,000   8,259  76
//	ClientConn  100          73,500   7,581  73
//
// Against a bare x/net ClientConn on one connection the client's time is
// within the run-to-run noise. It adds three allocations, about 650 bytes,
// per request: the body wrapper that frees the stream slot at EOF and stamps
// Info.End, and the httptrace hook, context and request copy that stamp
// Info.Acquired when the HEADERS are written (x/net may hold a request for a
// moment after the client's own slot is free, and that time is wait, not
// service). Recycling the wrapper would let a caller's second Close reach
// another request's body, so the allocation stays.
package h2client
