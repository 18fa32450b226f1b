// Package h1pool is an HTTP/1.1 client that keeps exactly N keep-alive
// connections to one server (six by default, as a browser does per host) and
// queues every request beyond them, first come first served.
//
// It is one side of muxlab's comparison, so it does exactly what it claims:
// never more than Options.Conns connections open at once, an idle connection
// reused before an empty slot is dialed, HTTP/1.1 only whatever the server
// offers (it never negotiates anything else), and a connection that broke
// replaced in its slot and counted in Stats.Reconnects. net/http's Transport
// makes no such promise about the number of connections, and it cannot say
// which connection carried a request or how long the request queued, so the
// pool speaks HTTP/1.1 on connections it owns. A plain GET or HEAD is written
// directly, byte for byte what http.Request.Write writes, and a plain
// response head (HTTP/1.1, a final status, a Content-Length) is parsed
// directly into what http.ReadResponse returns; every other request and
// response goes through net/http's own Request.Write and ReadResponse.
// Table tests and fuzz targets hold the direct paths to net/http's. See
// docs/PERFORMANCE.md. On Linux its TCP connections are read and written
// with raw system calls (internal/rawconn).
//
// Do fills a roundtrip.Info for each request: how long it waited for a
// connection (dialing included), which connection carried it, and when its
// body ended. A Pool is also an http.RoundTripper.
//
// A GET that fails because the server had closed a kept-alive connection
// before answering is sent once more on a fresh connection, as browsers do,
// and counted in Stats.Retries; every other failure is returned and counted in
// Stats.Failed.
//
// # Cost
//
// BenchmarkClients (60 requests in flight over six connections to a canned
// server whose CPU is small and the same for each; 2 cores, Go 1.26):
//
//	client                      cpu-µs/op   allocs/op
//	h1pool                      27.0, 29.4  7
//	fasthttp HostClient (6)     36.9, 38.1  4
//	net/http Transport (6)      41.7, 47.3  37
//
// BenchmarkGet (a GET of /hello from an in-process mux server, ns/op of wall
// time; absolute times vary with the machine's load, the comparison within
// one run does not):
//
//	client     in flight   ns/op    B/op   allocs/op
//	h1pool     1           51,000   3,310  25
//	Transport  1           54,000   4,800  60
//	h1pool     100         43,000   3,320  25
//	Transport  100         49,000   4,750  59
//
// The pool's own allocations per request are the body wrapper (which holds
// the body reader of a plain response) and, for a plain response, one for
// the Response with its field values.
package h1pool
