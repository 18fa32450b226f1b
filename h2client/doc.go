// Package h2client is an HTTP/2 client that carries every request as a stream
// on exactly one connection, waiting for a free stream slot rather than
// opening a second connection.
//
// It is one side of muxlab's comparison, and a load generator, so it speaks
// HTTP/2 at the frame level on golang.org/x/net/http2's Framer and hpack, on a
// connection it dials itself (h2c with prior knowledge by default; an
// Options.Dial that returns a *tls.Conn gives HTTP/2 over TLS with ALPN h2).
// x/net's ClientConn spent twice h2load's CPU per request (a goroutine and a
// write system call per request); this client has one reader goroutine per
// connection and none per request, sends the frames of every request that
// wrote while the last batch went out in one write, and keeps what x/net
// keeps: both flow-control windows (4 MiB per stream, 1 GiB for the
// connection), the server's stream limit, GOAWAY, RST_STREAM, PING,
// SETTINGS, CONTINUATION, informational responses and trailers. It sends
// the request x/net's Transport sends (TestSameHeadersAsXNet), with no
// Accept-Encoding, as h1pool sends none. On Linux an h2c connection is read
// and written with raw system calls (internal/rawconn). See
// docs/PERFORMANCE.md.
//
// Before the first request is sent, the client waits for the server's
// SETTINGS, so that its MAX_CONCURRENT_STREAMS is known and never exceeded;
// requests beyond it wait, first come first served, for a stream slot, and
// a stream counts against the limit until its request body is sent, even
// after its response ended (as in x/net).
//
// When the server sends GOAWAY or the connection breaks, the next request
// dials again, counted in Stats.Reconnects. Requests in flight on a broken
// connection fail with an error and are counted in Stats.Failed; they are
// never retried silently. A server that does not speak h2c fails the first
// request quickly with an error that says so.
//
// Do fills a roundtrip.Info for each request: how long it waited for a stream
// slot (and, for the first, for the connection) until its HEADERS were
// written, which connection carried it, and when its body ended. A Client is
// also an http.RoundTripper.
//
// # Cost
//
// BenchmarkClients (100 requests in flight to net/http's server in process,
// whose CPU is in every figure; 2 cores, Go 1.26):
//
//	client                     cpu-µs/op   allocs/op
//	x/net ClientConn           80.0, 86.3  53
//	ClientConn over batchConn  59.7, 79.9  53
//	h2client                   58.8, 60.2  41
//
// BenchmarkGet (a GET of /hello from an in-process mux server, ns/op of wall
// time; absolute times vary with the machine's load, the comparison within
// one run does not):
//
//	client      in flight   ns/op     B/op   allocs/op
//	h2client    1           110,000   5,600  60
//	ClientConn  1           145,000   7,170  74
//	h2client    100          57,000   6,000  60
//	ClientConn  100          55,000   7,630  73
package h2client
