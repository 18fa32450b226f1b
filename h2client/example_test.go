package h2client_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"

	"muxlab/h2client"
	"muxlab/mux"
)

// Ten requests at once travel as ten streams on one connection.
func Example() {
	srv, err := mux.New(mux.Options{H2CAddr: "127.0.0.1:0"})
	if err != nil {
		panic(err)
	}
	srv.Start()
	defer srv.Close()

	client, err := h2client.New(h2client.Options{Addr: srv.Addr(mux.ListenerH2C)})
	if err != nil {
		panic(err)
	}
	defer client.Close()
	if err := client.Connect(context.Background()); err != nil {
		panic(err)
	}

	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			resp, err := (&http.Client{Transport: client}).Get(fmt.Sprintf("%s/tile/%d?delay=50ms", srv.URL(mux.ListenerH2C), i))
			if err != nil {
				panic(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		})
	}
	wg.Wait()
	st := client.Stats()
	fmt.Printf("requests %d, dials %d, server's MAX_CONCURRENT_STREAMS %d\n", st.Requests, st.Dials, st.MaxConcurrentStreams)
	fmt.Printf("connections the server saw: %d\n", srv.Stats().Listeners[mux.ListenerH2C].ConnectionsAccepted)
	// Output:
	// requests 10, dials 1, server's MAX_CONCURRENT_STREAMS 250
	// connections the server saw: 1
}
