// Package bench runs one scenario against HTTP/1.1 connection pooling and
// against HTTP/2 multiplexing, interleaved, and measures both.
package bench
