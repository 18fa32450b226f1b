package h3client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"muxlab/h3client"
	"muxlab/internal/hostile"
	"muxlab/internal/muxtest"
	"muxlab/roundtrip"
)

// heapBound is what a hostile server may make a test process hold.
const heapBound = 200 << 20

func fetch(ctx context.Context, c *h3client.Client, url string) error {
	return muxtest.Fetch(ctx, c, url)
}

// TestResponseTooLarge: a field section beyond the bound fails its request
// under roundtrip.ErrResponseTooLarge (this also pins the quic-go messages
// h3client recognises), and the connection carries the next request.
func TestResponseTooLarge(t *testing.T) {
	s, tc := hostile.ServeH3(t, "")
	for _, bound := range []int64{0, 64 << 10} {
		c, err := h3client.New(h3client.Options{Addr: s.Addr(), TLSConfig: tc, MaxResponseHeaderBytes: bound, StreamLoss: streamLoss})
		if err != nil {
			t.Fatal(err)
		}
		err = fetch(t.Context(), c, s.URL()+hostile.PathEndlessHead)
		if !errors.Is(err, roundtrip.ErrResponseTooLarge) {
			t.Errorf("bound %d: got %v; want roundtrip.ErrResponseTooLarge", bound, err)
		}
		if err := fetch(t.Context(), c, s.URL()+hostile.PathOK); err != nil {
			t.Errorf("bound %d: the next request: %v", bound, err)
		}
		if st := c.Stats(); st.Dials != 1 || st.Failed != 1 {
			t.Errorf("bound %d: stats %+v: want 1 dial, 1 failed", bound, st)
		}
		c.Close()
	}
	if _, err := h3client.New(h3client.Options{Addr: s.Addr(), MaxResponseHeaderBytes: -1}); err == nil {
		t.Error("a negative MaxResponseHeaderBytes was accepted")
	}
}

// TestHostileStreams: endless and dripping bodies end with their context;
// a length not kept fails, alone: the connection carries the next request.
// Memory stays bounded throughout.
func TestHostileStreams(t *testing.T) {
	s, tc := hostile.ServeH3(t, "")
	c := client(t, s.Addr(), tc)
	for _, tc := range []struct {
		path    string
		timeout time.Duration
		ok      bool
	}{
		{hostile.PathEndlessBody, 300 * time.Millisecond, false},
		{hostile.PathDrip, 300 * time.Millisecond, false},
		{hostile.PathShort, 5 * time.Second, false},
		{hostile.PathLong, 5 * time.Second, false}, // quic-go's server resets the stream
		{hostile.PathOK, 5 * time.Second, true},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), tc.timeout)
		var err error
		peak := hostile.PeakHeap(func() { err = fetch(ctx, c, s.URL()+tc.path) })
		cancel()
		if (err == nil) != tc.ok {
			t.Errorf("%s: got %v; want ok %v", tc.path, err, tc.ok)
		}
		if peak > heapBound {
			t.Errorf("%s: the heap reached %d MiB", tc.path, peak>>20)
		}
	}
	if st := c.Stats(); st.Requests != 5 || st.Failed != 4 || st.Dials != 1 {
		t.Errorf("stats %+v: want 5 requests on 1 connection, 4 failed", st)
	}
}
