// Package muxtest starts the mux demo server for the tests of other
// packages, whose clients and harness are judged by its ground truth, and
// holds the helpers those tests share.
package muxtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"muxlab/link"
	"muxlab/mux"
	"muxlab/roundtrip"
)

// Start serves a mux server with opts for the rest of tb (use "127.0.0.1:0"
// addresses for ports the kernel picks) and closes it when tb ends.
func Start(tb testing.TB, opts mux.Options) *mux.Server {
	tb.Helper()
	s, err := mux.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	s.Start()
	tb.Cleanup(func() { s.Close() })
	return s
}

// Doer is what the clients under test offer: h1pool.Pool and h2client.Client.
type Doer interface {
	Do(req *http.Request, info *roundtrip.Info) (*http.Response, error)
}

// Get sends one GET through c, reads the whole body, and fails on a status
// other than 200.
func Get(ctx context.Context, c Doer, url string, info *roundtrip.Info) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req, info)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return resp, fmt.Errorf("%s: status %d", url, resp.StatusCode)
	}
	return resp, nil
}

// Fetch sends one GET through c and reads its body whole; any status is an
// answer. For the tests of what a misbehaving server does to a client.
func Fetch(ctx context.Context, c Doer, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// Burst sends n GETs through c at once and returns their errors.
func Burst(c Doer, n int, url string) []error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = Get(context.Background(), c, url, nil) })
	}
	wg.Wait()
	return errs
}

// NoErrors reports every error in errs.
func NoErrors(tb testing.TB, errs []error) {
	tb.Helper()
	for _, err := range errs {
		if err != nil {
			tb.Error(err)
		}
	}
}

// WaitFor polls cond every millisecond until it holds, failing tb after limit.
func WaitFor(tb testing.TB, limit time.Duration, what string, cond func() bool) {
	tb.Helper()
	if !Eventually(limit, cond) {
		tb.Fatalf("gave up after %v waiting for %s", limit, what)
	}
}

// Eventually polls cond every millisecond until it holds or limit passes,
// and reports whether it held: WaitFor for a goroutine, which may not stop
// its test.
func Eventually(limit time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// FailMidBody sends a GET of url (a slow /stream) through c, reads the first
// bytes of the body, cancels the request, and then reads three more times:
// the first of those Reads fails, the others read after the failure. The
// client must count one failed request, whatever the reads after it.
func FailMidBody(tb testing.TB, c Doer, url string) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := c.Do(req, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 1)
	if _, err := resp.Body.Read(buf); err != nil {
		tb.Fatalf("first byte: %v", err)
	}
	cancel()
	var errs []error
	for range 3 {
		_, err := io.ReadAll(resp.Body)
		errs = append(errs, err)
	}
	for i, err := range errs {
		if err == nil {
			tb.Fatalf("read %d after the cancel succeeded", i+1)
		}
	}
}

// RequireKernel skips a test that needs the link's kernel stack where this
// process may not have it (root, or CAP_SYS_ADMIN and CAP_NET_ADMIN, and
// /dev/net/tun), and fails it when CI is set: CI runs it.
func RequireKernel(t testing.TB) {
	t.Helper()
	if err := link.KernelSupport(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run the kernel stack's tests (as root, with /dev/net/tun): %v", err)
		}
		t.Skipf("the kernel stack is not available here: %v", err)
	}
}
