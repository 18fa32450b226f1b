package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"time"

	"muxlab/bench"
	"muxlab/sidecar"
)

// runSidecar runs the sidecar proxy: HTTP/1.1 in on --listen, one
// multiplexed connection out to --upstream.
func runSidecar(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sidecar", stderr)
	listen := fs.String("listen", "127.0.0.1:8090", "address the local apps connect to (HTTP/1.1)")
	upstream := fs.String("upstream", "", "the server: http://host:port (h2c, prior knowledge) or https://host:port (HTTP/2 over TLS, ALPN h2)")
	useH3 := fs.Bool("h3", false, "carry the requests over HTTP/3 (QUIC) instead; --upstream must be https://")
	insecure := fs.Bool("insecure", false, "do not verify the upstream's certificate")
	var maxBody sizeValue = sidecar.DefaultMaxBodyBytes
	fs.Var(&maxBody, "max-body", "largest request body accepted from an app (413 beyond)")
	timeout := fs.Duration("timeout", sidecar.DefaultTimeout, "time allowed for a whole request upstream")
	dialTimeout := fs.Duration("dial-timeout", 5*time.Second, "time allowed to connect to the upstream")
	grace := fs.Duration("grace", 10*time.Second, "on SIGINT/SIGTERM, time allowed for requests in flight")
	bodyIdle := fs.Duration("body-idle-timeout", sidecar.DefaultBodyIdleTimeout, "longest wait for the next bytes of an app's request body, and the grace before --min-body-rate applies (408 beyond)")
	var minRate sizeValue = sidecar.DefaultMinBodyRate
	fs.Var(&minRate, "min-body-rate", "slowest average rate of an app's request body, per second, after --body-idle-timeout (408 below; 0: no minimum)")
	maxStreams := fs.Int("max-streams", sidecar.DefaultMaxStreams, "requests carried upstream at once")
	maxUploads := fs.Int("max-upload-streams", sidecar.DefaultMaxUploadStreams, "of --max-streams, how many may be requests whose bodies are still arriving")
	queueTimeout := fs.Duration("queue-timeout", sidecar.DefaultQueueTimeout, "longest wait for a place upstream (503 beyond)")
	if err := parse(fs, args); err != nil {
		return err
	}
	u, err := url.Parse(*upstream)
	switch {
	case *upstream == "":
		return usagef("--upstream: give the server, like http://127.0.0.1:8081 (h2c) or https://example.com")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/"):
		return usagef("--upstream: %q is not a base URL like http://127.0.0.1:8081 or https://example.com", *upstream)
	case *useH3 && u.Scheme != "https":
		return usagef("--h3: HTTP/3 runs over TLS: give an https:// --upstream")
	}
	if err := errorsJoinFirst(
		checkAddr("listen", *listen, false),
		checkRange("max-body", int64(maxBody), 0, 1<<30),
		checkRange("timeout", *timeout, time.Millisecond, 24*time.Hour),
		checkRange("dial-timeout", *dialTimeout, time.Millisecond, time.Minute),
		checkRange("grace", *grace, 0, time.Hour),
		checkRange("body-idle-timeout", *bodyIdle, time.Millisecond, time.Hour),
		checkRange("min-body-rate", int64(minRate), 0, 1<<30),
		checkRange("max-streams", int64(*maxStreams), 1, 1<<16),
		checkRange("max-upload-streams", int64(*maxUploads), 1, int64(*maxStreams)),
		checkRange("queue-timeout", *queueTimeout, time.Millisecond, time.Hour),
	); err != nil {
		return err
	}
	tg, err := bench.NewTarget("", u.Scheme+"://"+u.Host, nil)
	if err != nil {
		return usagef("--upstream: %v", err)
	}
	if tg.TLS != nil {
		tg.TLS.InsecureSkipVerify = *insecure
	}
	up, err := bench.Upstream(tg, *useH3, *dialTimeout)
	if err != nil {
		return usageError{err}
	}
	rate := int64(minRate)
	if rate == 0 {
		rate = -1 // the option's "no minimum"
	}
	s, err := sidecar.New(sidecar.Options{Upstream: up, Base: u.Scheme + "://" + u.Host, MaxBodyBytes: int64(maxBody), Timeout: *timeout,
		BodyIdleTimeout: *bodyIdle, MinBodyRate: rate, MaxStreams: *maxStreams, MaxUploadStreams: *maxUploads, QueueTimeout: *queueTimeout})
	if err != nil {
		return usageError{err}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return usagef("--listen: cannot listen on %s: %v", *listen, errors.Unwrap(err))
	}
	proto := "HTTP/2"
	if *useH3 {
		proto = "HTTP/3"
	}
	fmt.Fprintf(stdout, "muxlab sidecar: HTTP/1.1 in on http://%s, one %s connection out to %s\n", ln.Addr(), proto, u.Scheme+"://"+u.Host)
	fmt.Fprintf(stdout, "  its own counts: GET http://%s%s; Ctrl-C stops\n", ln.Addr(), sidecar.StatsPath)
	if *insecure {
		fmt.Fprintln(stderr, "muxlab: warning: --insecure: the upstream's certificate is not verified")
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	select {
	case err := <-done:
		s.Close()
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	return s.Shutdown(sctx)
}
