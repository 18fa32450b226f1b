// Package h1pool is an HTTP/1.1 client that keeps exactly N keep-alive
// connections to one server (six by default, as a browser does per host) and
// queues every request beyond them in FIFO order.
package h1pool
