package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"muxlab/internal/muxtest"
	"muxlab/mux"
)

// needTool returns the path of a peer tool; without it the test fails in CI
// (make test installs it) and is skipped elsewhere.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing: make test installs it (Debian's nghttp2-client and haproxy)", name)
		}
		t.Skipf("%s is missing (apt-get install nghttp2-client haproxy); CI runs this test", name)
	}
	return p
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// The done-when run: muxlab sidecar in front of a mux server, h2load --h1
// with 50 connections through it: every request answered, and the server
// counts exactly one upstream connection.
func TestSidecarUnderH2load(t *testing.T) {
	h2load := needTool(t, "h2load")
	srv := muxtest.Start(t, mux.Options{H2CAddr: "127.0.0.1:0"})
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"sidecar", "--listen", addr, "--upstream", srv.URL(mux.ListenerH2C)}, &stdout, &stderr)
	}()
	muxtest.WaitFor(t, 5*time.Second, "the sidecar to listen", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	out, err := exec.Command(h2load, "--h1", "-c", "50", "-n", "1000", "http://"+addr+"/echo?delay=5ms&size=512").CombinedOutput()
	if err != nil {
		t.Fatalf("h2load: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`requests: 1000 total, 1000 started, 1000 done, 1000 succeeded, 0 failed`).Match(out) ||
		!strings.Contains(string(out), "status codes: 1000 2xx") {
		t.Errorf("h2load:\n%s", out)
	}
	if st := srv.Stats().Listeners[mux.ListenerH2C]; st.ConnectionsAccepted != 1 || st.Requests != 1000 {
		t.Errorf("server %+v; want 1 connection carrying 1000 requests", st)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("sidecar exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "one HTTP/2 connection out") {
		t.Errorf("sidecar said %q", stdout.String())
	}
}

func TestSidecarBadUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sidecar"}, "--upstream: give the server"},
		{[]string{"sidecar", "--upstream", "ftp://x"}, `--upstream: "ftp://x" is not a base URL`},
		{[]string{"sidecar", "--upstream", "http://127.0.0.1:1", "--h3"}, "--h3: HTTP/3 runs over TLS"},
		{[]string{"sidecar", "--upstream", "http://127.0.0.1:1", "--listen", "nowhere"}, `--listen: "nowhere" is not an address`},
		{[]string{"sidecar", "--upstream", "http://127.0.0.1:1", "--max-body", "2GiB"}, "--max-body"},
		{[]string{"sidecar", "--upstream", "http://127.0.0.1:1", "--body-idle-timeout", "0s"}, "--body-idle-timeout: 0s is out of range"},
		{[]string{"sidecar", "--upstream", "http://127.0.0.1:1", "--min-body-rate", "-1"}, "--min-body-rate"},
		{[]string{"sidecar", "--upstream", "http://127.0.0.1:1", "--max-streams", "10", "--max-upload-streams", "11"}, "--max-upload-streams: 11 is out of range; allowed 1 to 10"},
		{[]string{"sidecar", "--upstream", "http://127.0.0.1:1", "--queue-timeout", "2h"}, "--queue-timeout: 2h0m0s is out of range"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), tc.args, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}
