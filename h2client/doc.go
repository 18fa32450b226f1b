// Package h2client is an HTTP/2 client that carries every request as a stream
// on exactly one connection, waiting for a free stream slot rather than
// opening a second connection.
package h2client
