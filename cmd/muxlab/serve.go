package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"muxlab/balance"
	"muxlab/bench"
	"muxlab/link"
	"muxlab/mux"
	"muxlab/mux/h3"
	"muxlab/pageset"
	"muxlab/results"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	var o mux.Options
	var connWin, streamWin, headerBytes sizeValue
	fs.StringVar(&o.H1Addr, "h1", mux.DefaultH1Addr, "HTTP/1.1-only listener address (empty: off)")
	fs.StringVar(&o.H2CAddr, "h2c", mux.DefaultH2CAddr, "h2c (HTTP/2 prior knowledge) listener address (empty: off)")
	fs.StringVar(&o.BothAddr, "both", "", "one listener that accepts both HTTP/1.1 and h2c (empty: off)")
	fs.IntVar(&o.MaxConcurrentStreams, "max-streams", mux.DefaultMaxConcurrentStreams, "HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS")
	fs.Var(&connWin, "conn-window", "HTTP/2 connection receive window, 64KiB to 4MiB (default net/http's)")
	fs.Var(&streamWin, "stream-window", "HTTP/2 stream receive window, up to 4MiB (default net/http's)")
	fs.DurationVar(&o.ReadHeaderTimeout, "read-header-timeout", 10*time.Second, "time allowed to read a request's headers")
	fs.DurationVar(&o.ReadTimeout, "read-timeout", 2*time.Minute, "time allowed to read a whole request")
	fs.DurationVar(&o.WriteTimeout, "write-timeout", mux.MaxStreamDuration+time.Minute, "time allowed to write a response")
	fs.DurationVar(&o.IdleTimeout, "idle-timeout", 2*time.Minute, "keep-alive connections idle this long are closed")
	headerBytes = 64 << 10
	fs.Var(&headerBytes, "max-header-bytes", "largest request header block accepted")
	grace := fs.Duration("grace", 10*time.Second, "on SIGINT/SIGTERM, time allowed for in-flight requests to finish")
	demo := fs.Bool("demo", false, "add the browser demo's two TLS listeners and /demo")
	h1TLS := fs.String("h1-tls", mux.DefaultH1TLSAddr, "with --demo: TLS listener offering only http/1.1 through ALPN")
	h2TLS := fs.String("h2-tls", mux.DefaultH2TLSAddr, "with --demo: TLS listener offering h2 (and http/1.1)")
	certFile := fs.String("cert", "", "with --demo or --h3: PEM certificate file (default: a self-signed one made at start)")
	keyFile := fs.String("key", "", "with --demo or --h3: PEM key file for --cert")
	harFile := fs.String("har", "", "replay a recorded page (a HAR file) offline: every entry answered as recorded, every origin by this server")
	h3Addr := fs.String("h3", "", "HTTP/3 (QUIC) listener UDP address, e.g. 127.0.0.1:8445 (empty: off)")
	h3Streams := fs.Int64("h3-max-streams", h3.DefaultMaxStreams, "with --h3: requests one client may have in flight on one QUIC connection")
	backends := fs.Int("backends", 0, fmt.Sprintf("serve N demo servers (b1..bN, 1 to %d) behind a balancing front on --h1 and --h2c (0: one server, no front)", balance.MaxBackends))
	balanceMode := fs.String("balance", balance.ModeL4, "with --backends: l4 (each connection to the next backend) or l7 (each request to the next backend)")
	policy := fs.String("policy", balance.RoundRobin, "with --backends and --balance l4: round-robin or least-conns")
	sticky := fs.Bool("sticky", false, "with --backends and --balance l7: keep a client on its first backend by a cookie")
	workSlots := fs.Int("work-slots", 0, fmt.Sprintf("/work requests a server runs at once, its emulated cores (default: %d per backend with --backends, else the machine's cores)", balance.DefaultWorkSlots))
	frontStats := fs.String("front-stats", "127.0.0.1:8090", "with --backends: where the front answers GET /stats (its count of each backend, and each backend's own)")
	var nf netFlags
	nf.define(fs)
	fs.Lookup("net").Usage = "put every listener behind this emulated network (see muxlab bench --list): a browser on this machine then sees its round trip, bottleneck and loss; default loopback, none"
	if err := parse(fs, args); err != nil {
		return err
	}
	if nf.profile == "" {
		nf.profile = "loopback"
	}
	netName, linkOpts, err := nf.resolve(fs)
	if err != nil {
		return err
	}
	o.ConnWindow, o.StreamWindow, o.MaxHeaderBytes = int(connWin), int(streamWin), int(headerBytes)
	if err := errorsJoinFirst(
		checkAddr("h1", o.H1Addr, true), checkAddr("h2c", o.H2CAddr, true), checkAddr("both", o.BothAddr, true),
		checkRange("max-streams", o.MaxConcurrentStreams, 1, 1<<20),
		checkZeroOrRange("conn-window", int64(connWin), 64<<10, 4<<20-1),
		checkZeroOrRange("stream-window", int64(streamWin), 1, 4<<20-1),
		checkRange("read-header-timeout", o.ReadHeaderTimeout, time.Millisecond, time.Hour),
		checkRange("read-timeout", o.ReadTimeout, time.Millisecond, 24*time.Hour),
		checkRange("write-timeout", o.WriteTimeout, time.Millisecond, 24*time.Hour),
		checkRange("idle-timeout", o.IdleTimeout, time.Millisecond, 24*time.Hour),
		checkRange("max-header-bytes", int64(headerBytes), 1<<10, 16<<20),
		checkRange("grace", *grace, 0, time.Hour),
		checkAddr("h3", *h3Addr, true),
		checkRange("h3-max-streams", *h3Streams, 1, 1<<20),
	); err != nil {
		return err
	}
	if *h3Addr == "" && fs.Changed("h3-max-streams") {
		return usagef("--h3-max-streams goes with --h3")
	}
	if err := errorsJoinFirst(checkRange("work-slots", *workSlots, 0, 1024), checkZeroOrRange("backends", int64(*backends), 1, balance.MaxBackends)); err != nil {
		return err
	}
	o.WorkSlots = *workSlots
	if *backends > 0 {
		return serveBackends(ctx, fs, stdout, o, backendFlags{n: *backends, mode: *balanceMode, policy: *policy, sticky: *sticky,
			stats: *frontStats, grace: *grace, h3: *h3Addr, demo: *demo, har: *harFile, net: nf.profile})
	}
	for _, name := range []string{"balance", "policy", "sticky", "front-stats"} {
		if fs.Changed(name) {
			return usagef("--%s goes with --backends", name)
		}
	}
	if err := demoOptions(fs, &o, *demo, *h3Addr != "", *h1TLS, *h2TLS, *certFile, *keyFile); err != nil {
		return err
	}
	if o.H1Addr == "" && o.H2CAddr == "" && o.BothAddr == "" && o.H1TLSAddr == "" && o.H2TLSAddr == "" {
		if *h3Addr != "" {
			return usagef("--h3 needs a TCP listener beside it (--h1, --h2c or --both), where /stats is read")
		}
		return usagef("--h1, --h2c and --both are all off: nothing to serve")
	}
	// Behind an emulated network every listener is made on the link's
	// server side and reached at its address through a forwarder; the
	// forwarders outlive ctx, so that Shutdown's grace still reaches them.
	var lk *link.Network
	if linkOpts != nil {
		if lk, err = link.New(*linkOpts); err != nil {
			return usageError{fmt.Errorf("--net %s: %w", netName, err)}
		}
		defer lk.Close()
		if err := behindLink(lk, &o, netName, h3Addr); err != nil {
			return err
		}
	}
	var page *pageset.Page
	if *harFile != "" {
		f, err := os.Open(*harFile)
		if err != nil {
			return usagef("--har: %v", err)
		}
		page, err = pageset.ParseHAR(f)
		f.Close()
		if err != nil {
			return usagef("--har: %s: %v", *harFile, pageset.Problem(err))
		}
		o.Replay = pageset.NewReplayer(page)
	}
	s, err := mux.New(o)
	var le *mux.ListenError
	if errors.As(err, &le) {
		// A port in use, or an address this machine does not have.
		return usagef("--%s: cannot listen on %s: %v", le.Listener, le.Addr, errors.Unwrap(le.Err))
	}
	if err != nil {
		return usageError{err}
	}
	if *h3Addr != "" {
		ho := h3.Options{Addr: *h3Addr, Certificate: o.Certificate, MaxStreams: *h3Streams}
		if lk != nil {
			if ho.PacketConn, err = lk.ListenPacketBehind(context.Background(), *h3Addr); err != nil {
				s.Close()
				return usagef("--h3: cannot listen on %s: %v", *h3Addr, err)
			}
			ho.Addr = ""
		}
		l, err := h3.Listen(s, ho)
		if errors.As(err, &le) {
			s.Close()
			return usagef("--h3: cannot listen on %s: %v", le.Addr, errors.Unwrap(le.Err))
		}
		if err != nil {
			s.Close()
			return usageError{err}
		}
		l.Start() // the mux server stops it
	}
	s.Start()
	printListeners(stdout, s)
	if o.Network != "" {
		fmt.Fprintf(stdout, "  every listener is behind an emulated network: %s\n", o.Network)
	}
	if page != nil {
		fmt.Fprintf(stdout, "  replaying %s: %d objects of %d origins (%s), each answered as recorded; send the origin's host in Host\n",
			*harFile, len(page.Entries), len(page.Origins()), strings.Join(page.Origins(), ", "))
	}
	<-ctx.Done()
	fmt.Fprintf(stdout, "shutting down: letting in-flight requests finish (up to %v)\n", *grace)
	sctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func printListeners(w io.Writer, s *mux.Server) {
	fmt.Fprintln(w, "muxlab demo server")
	if u := s.URL(mux.ListenerH1); u != "" {
		fmt.Fprintf(w, "  HTTP/1.1 only:      %s/   try: curl --http1.1 %s/hello\n", u, u)
	}
	if u := s.URL(mux.ListenerH2C); u != "" {
		fmt.Fprintf(w, "  h2c only:           %s/   try: curl --http2-prior-knowledge %s/hello\n", u, u)
	}
	if u := s.URL(mux.ListenerBoth); u != "" {
		fmt.Fprintf(w, "  HTTP/1.1 and h2c:   %s/\n", u)
	}
	if u := s.URL(mux.ListenerH3); u != "" {
		fmt.Fprintf(w, "  HTTP/3 (QUIC, UDP): %s/   try: muxlab bench --contenders h3 --h3-url %s --insecure\n", u, u)
	}
	fmt.Fprintln(w, "  ground truth:       GET /stats (add ?conns=1 for every connection); Ctrl-C stops")
	if u := s.URL(mux.ListenerH1TLS); u != "" {
		fmt.Fprintf(w, "\nbrowser demo: open %s/demo\n", u)
		fmt.Fprintf(w, "  HTTP/1.1 over TLS: %s/   HTTP/2 over TLS: %s/\n", u, s.URL(mux.ListenerH2TLS))
		fmt.Fprintln(w, "  the certificate is self-signed unless --cert is given: accept it for both addresses above,")
		fmt.Fprintln(w, "  or start a throwaway Chrome with --ignore-certificate-errors --user-data-dir=$(mktemp -d)")
		if h3 := s.Addr(mux.ListenerH3); h3 != "" {
			fmt.Fprintf(w, "  the HTTP/3 pane needs Chrome told to use QUIC for its origin and to trust the key of its certificate:\n")
			fmt.Fprintf(w, "  --origin-to-force-quic-on=%s --ignore-certificate-errors-spki-list=%s\n", h3, mux.SPKIHash(s.Certificate()))
		}
	}
}

// demoOptions adds the demo's TLS listeners, and the certificate of the
// TLS and HTTP/3 listeners, to o.
func demoOptions(fs *pflag.FlagSet, o *mux.Options, demo, h3on bool, h1TLS, h2TLS, certFile, keyFile string) error {
	if !demo {
		for _, name := range []string{"h1-tls", "h2-tls"} {
			if fs.Changed(name) {
				return usagef("--%s goes with --demo", name)
			}
		}
	}
	if !demo && !h3on {
		for _, name := range []string{"cert", "key"} {
			if fs.Changed(name) {
				return usagef("--%s goes with --demo or --h3", name)
			}
		}
		return nil
	}
	if demo {
		if err := errorsJoinFirst(checkAddr("h1-tls", h1TLS, false), checkAddr("h2-tls", h2TLS, false)); err != nil {
			return err
		}
		o.H1TLSAddr, o.H2TLSAddr = h1TLS, h2TLS
	}
	if (certFile == "") != (keyFile == "") {
		return usagef("--cert and --key go together")
	}
	if certFile != "" {
		cert, err := mux.LoadCertificate(certFile, keyFile)
		var ce *mux.CertFileError
		if errors.As(err, &ce) {
			return usagef("--%s: %s: %v", ce.Which, ce.File, ce.Err)
		}
		if err != nil {
			return usageError{err}
		}
		o.Certificate = cert
	}
	return nil
}

// behindLink puts o's TCP listeners behind lk: each is made on the link's
// server side and reached at its configured address on this machine, and
// o.Network says what the network is, for the demo page.
func behindLink(lk *link.Network, o *mux.Options, name string, h3Addr *string) error {
	if o.Listeners == nil {
		o.Listeners = map[string]net.Listener{}
	}
	for _, l := range []struct {
		flag, listener string
		addr           *string
	}{
		{"h1", mux.ListenerH1, &o.H1Addr}, {"h2c", mux.ListenerH2C, &o.H2CAddr}, {"both", mux.ListenerBoth, &o.BothAddr},
		{"h1-tls", mux.ListenerH1TLS, &o.H1TLSAddr}, {"h2-tls", mux.ListenerH2TLS, &o.H2TLSAddr},
	} {
		if *l.addr == "" {
			continue
		}
		ln, err := lk.ListenBehind(context.Background(), *l.addr, bench.DefaultDialTimeout)
		if err != nil {
			for _, made := range o.Listeners {
				made.Close()
			}
			return usagef("--%s: cannot listen on %s: %v", l.flag, *l.addr, err)
		}
		o.Listeners[l.listener], *l.addr = ln, ""
	}
	lo := lk.Options()
	stack, _ := lk.Stack()
	o.Network = fmt.Sprintf("%s, emulated: %v round trip, %s down, %s up, %g%% loss each way, on the %s stack", name,
		lo.RTT(), results.FormatRate(lo.Down.Rate), results.FormatRate(lo.Up.Rate), lo.Down.Loss*100, stack)
	if *h3Addr != "" {
		o.Network += " (HTTP/3 too)"
	}
	return nil
}

// backendFlags are serve's flags for --backends.
type backendFlags struct {
	n              int
	mode, policy   string
	sticky, demo   bool
	stats, h3, har string
	net            string
	grace          time.Duration
}

// serveBackends runs --backends demo servers behind a balancing front on
// o's --h1 and --h2c addresses, and the front's counts on --front-stats.
func serveBackends(ctx context.Context, fs *pflag.FlagSet, stdout io.Writer, o mux.Options, bf backendFlags) error {
	switch {
	case bf.demo, bf.h3 != "", bf.har != "", o.BothAddr != "", bf.net != "loopback":
		return usagef("--backends serves plain backends behind a front: it goes without --demo, --h3, --har, --both and --net")
	case bf.mode != balance.ModeL4 && bf.mode != balance.ModeL7:
		return usagef("--balance: %q: want l4 (connections) or l7 (requests)", bf.mode)
	case bf.policy != balance.RoundRobin && bf.policy != balance.LeastConns:
		return usagef("--policy: %q: want round-robin or least-conns", bf.policy)
	case fs.Changed("policy") && bf.mode != balance.ModeL4:
		return usagef("--policy is for --balance l4: layer 7 spreads requests round robin")
	case bf.sticky && bf.mode != balance.ModeL7:
		return usagef("--sticky needs --balance l7: layer 4 sees connections, not the cookie")
	case o.H1Addr == "" && o.H2CAddr == "":
		return usagef("--h1 and --h2c are both off: the front has nowhere to listen")
	}
	if err := checkAddr("front-stats", bf.stats, false); err != nil {
		return err
	}
	lns := map[string]net.Listener{}
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	for _, l := range []struct{ flag, addr, kind string }{{"h1", o.H1Addr, balance.KindH1}, {"h2c", o.H2CAddr, balance.KindH2C}, {"front-stats", bf.stats, "stats"}} {
		if l.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			closeAll()
			return usagef("--%s: cannot listen on %s: %v", l.flag, l.addr, err)
		}
		lns[l.kind] = ln
	}
	statsLn := lns["stats"]
	delete(lns, "stats")
	o.H1Addr, o.H2CAddr = "", ""
	local, err := balance.StartLocal(balance.LocalOptions{Backends: bf.n, Mode: bf.mode, Policy: bf.policy, Sticky: bf.sticky,
		WorkSlots: o.WorkSlots, Server: o, Listeners: lns})
	if err != nil {
		closeAll()
		statsLn.Close()
		return usageError{err}
	}
	defer local.Close()
	admin := &http.Server{Handler: local.Front.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go admin.Serve(statsLn)
	defer admin.Close()
	how := map[string]string{balance.ModeL4: "layer 4: each new connection to the next backend (" + bf.policy + ")",
		balance.ModeL7: "layer 7: each request to the next backend, over an HTTP/2 connection of its own to each"}[bf.mode]
	if bf.sticky {
		how += ", sticky by the " + balance.StickyCookie + " cookie"
	}
	fmt.Fprintf(stdout, "muxlab front: %d demo servers behind %s\n", bf.n, how)
	if ln := lns[balance.KindH1]; ln != nil {
		fmt.Fprintf(stdout, "  HTTP/1.1:           http://%s/   try: curl --http1.1 http://%s/work?us=200\n", ln.Addr(), ln.Addr())
	}
	if ln := lns[balance.KindH2C]; ln != nil {
		fmt.Fprintf(stdout, "  h2c:                http://%s/   try: curl --http2-prior-knowledge http://%s/work?us=200\n", ln.Addr(), ln.Addr())
	}
	fmt.Fprintf(stdout, "  the front's counts: http://%s/stats (each backend: the front's count and its own); Ctrl-C stops\n", statsLn.Addr())
	fmt.Fprintf(stdout, "  every response names its backend in %s\n", mux.HeaderBackend)
	<-ctx.Done()
	fmt.Fprintln(stdout, "shutting down")
	return nil
}
