// Package bench runs one scenario against every contender of a table,
// interleaved round by round, and measures each the same way: HDR latency
// split into the wait for a connection or stream and the service, closed or
// open loop or whole pages, the server's own counts around each turn, and a
// page model beside every measurement.
//
// The contenders are entries of one table (contender.go): HTTP/1.1 pooling
// (h1pool), HTTP/2 and HTTP/3 multiplexing (h2client, h3client), an
// unchanged HTTP/1.1 app through a sidecar (sidecar-h2, sidecar-h3), and hey
// for reference. An entry says what it needs (its listener, TLS, UDP, one
// origin or several) and how its client is built from a Target; the harness
// knows contenders only through it, and classifies failures by roundtrip's
// kinds alone. Embed assembles a demo server in process with the listeners
// the chosen contenders need, on loopback or across an emulated link.
package bench
