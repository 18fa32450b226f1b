package h1pool_test

import (
	"fmt"
	"io"
	"net/http"

	"muxlab/h1pool"
	"muxlab/mux"
	"muxlab/roundtrip"
)

// A Pool is an http.RoundTripper; Do also reports how each request was carried.
func Example() {
	srv, err := mux.New(mux.Options{H1Addr: "127.0.0.1:0"})
	if err != nil {
		panic(err)
	}
	srv.Start()
	defer srv.Close()

	pool, err := h1pool.New(h1pool.Options{Addr: srv.Addr(mux.ListenerH1), Conns: 6})
	if err != nil {
		panic(err)
	}
	defer pool.Close()

	resp, err := (&http.Client{Transport: pool}).Get(srv.URL(mux.ListenerH1) + "/hello")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("%s %s %q\n", resp.Proto, resp.Status, body)

	req, _ := http.NewRequest("GET", srv.URL(mux.ListenerH1)+"/echo?size=1KiB", nil)
	var info roundtrip.Info
	resp, err = pool.Do(req, &info)
	if err != nil {
		panic(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	fmt.Printf("%d bytes on connection %d (reused: %v)\n", n, info.Conn, info.Reused)
	fmt.Printf("dials: %d\n", pool.Stats().Dials)
	// Output:
	// HTTP/1.1 200 OK "hello from muxlab\n"
	// 1024 bytes on connection 1 (reused: true)
	// dials: 1
}
