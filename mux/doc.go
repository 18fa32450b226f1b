// Package mux is muxlab's demo server: one set of endpoints served over
// HTTP/1.1 and over h2c (cleartext HTTP/2 with prior knowledge), each on its
// own listener, so that clients can be compared against the same handler.
//
// The endpoints are driven by query parameters (delay, jitter, size, status,
// chunks, interval), every one of them bounded; a bad value is answered with
// 400 and a one-line message naming the parameter, the value and the range.
//
// The server keeps the ground truth that every comparison is judged by: per
// listener, the TCP connections accepted and open, the requests served, the
// peak number of requests in flight on any one connection, and requests by
// protocol; per connection, its requests and peak. /stats serves them as JSON
// and Server.Stats returns them in process. Every response carries the headers
// Muxlab-Proto and Muxlab-Conn, so any client can attribute each response to
// the connection that carried it.
//
// mux never imports a client: it is the referee, not a player.
package mux
