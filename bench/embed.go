package bench

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"muxlab/balance"
	"muxlab/link"
	"muxlab/mux"
	"muxlab/mux/h3"
	"muxlab/results"
)

// Embed starts a mux server in this process, on listeners it makes (ports
// chosen by the kernel, or by the emulated link's server side when lk is
// not nil) and hands to the server: h1 and h2c, the TLS ones with
// Options.TLS, and h3 when h3 runs. opts is pointed at them, the server's
// certificate trusted and its counts read in process.
func Embed(opts *Options, maxStreams int, lk *link.Network) (stop func(), err error) {
	if opts.Scenario.Backends > 0 {
		return embedBalanced(opts, maxStreams, lk)
	}
	listen, dial := net.Listen, DialFunc(nil)
	addr := "127.0.0.1:0"
	listenPacket := func() (net.PacketConn, error) { return net.ListenPacket("udp", "127.0.0.1:0") }
	if lk != nil {
		listen, dial, addr = lk.Listen, lk.Dial, ":0"
		listenPacket = func() (net.PacketConn, error) { return lk.ListenPacket("udp", ":0") }
	}
	names := []string{mux.ListenerH1, mux.ListenerH2C}
	if opts.TLS || NeedsAny(opts.Contenders, mux.ListenerH1TLS) || NeedsAny(opts.Contenders, mux.ListenerH2TLS) {
		names = append(names, mux.ListenerH1TLS, mux.ListenerH2TLS)
	}
	lns := map[string]net.Listener{}
	closeAll := func() {
		for _, l := range lns {
			l.Close()
		}
	}
	for _, name := range names {
		ln, err := listen("tcp", addr)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("embedded server: %w", err)
		}
		lns[name] = ln
	}
	cert, err := mux.SelfSignedCertificate()
	if err != nil {
		closeAll()
		return nil, err
	}
	srv, err := mux.New(mux.Options{Listeners: lns, MaxConcurrentStreams: maxStreams, Certificate: cert, Replay: opts.Replay})
	if err != nil {
		return nil, err
	}
	var h3l *h3.Listener
	if NeedsAny(opts.Contenders, mux.ListenerH3) {
		pc, err := listenPacket()
		if err == nil {
			var l *h3.Listener
			// In a scenario of fast and slow requests the server records
			// what loss cost each stream, for what held the fast ones back.
			// In a scenario of fast and slow requests the server records
			// what loss cost each stream, for what held the fast ones back;
			// over a lossy link, what it sent again for any client.
			lossy := lk != nil && (lk.Options().Down.Loss > 0 || lk.Options().Up.Loss > 0)
			lo := h3.Options{PacketConn: pc, Certificate: cert, MaxStreams: int64(maxStreams), StreamLoss: opts.Scenario.SlowEvery > 0 || lossy}
			if l, err = h3.Listen(srv, lo); err == nil {
				h3l = l
				l.Start() // the mux server stops it
			}
		}
		if err != nil {
			srv.Close()
			return nil, fmt.Errorf("embedded server: HTTP/3: %w", err)
		}
	}
	srv.Start()
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		srv.Close()
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	for name := range srv.Stats().Listeners {
		t, err := NewTarget(name, srv.URL(name), dial)
		if err != nil {
			srv.Close()
			return nil, err
		}
		if t.TLS != nil {
			// The certificate names localhost; over the link the address
			// is the emulated server's.
			t.TLS = &tls.Config{RootCAs: pool, ServerName: "localhost"}
		}
		if name == mux.ListenerH3 {
			t.Dial = nil
			if lk != nil {
				t.ListenPacket = lk.DialPacket
			}
		}
		t.Link, t.SPKI = lk, mux.SPKIHash(cert)
		opts.Targets = append(opts.Targets, t)
	}
	opts.Embedded = true
	truth := embeddedTruth(srv)
	if h3l != nil {
		truth.StreamLossFunc = h3l.StreamLoss
		// The listener's count of data sent again runs on; each turn's is
		// what it sent since the turn's reset.
		reset, snapshot := truth.ResetFunc, truth.SnapshotFunc
		var mu sync.Mutex
		var n0 int64
		var w0 time.Duration
		truth.ResetFunc = func() {
			n, w, _ := h3l.Resent()
			mu.Lock()
			n0, w0 = n, w
			mu.Unlock()
			reset()
		}
		truth.SnapshotFunc = func() ServerSnapshot {
			snap := snapshot()
			if l, ok := snap[mux.ListenerH3]; ok {
				n, w, _ := h3l.Resent()
				mu.Lock()
				l.Resent, l.ResentWait = n-n0, w-w0
				mu.Unlock()
				snap[mux.ListenerH3] = l
			}
			return snap
		}
	}
	opts.Truth = truth
	return func() { srv.Close() }, nil
}

// embeddedTruth reads the in-process server's counts.
func embeddedTruth(srv *mux.Server) TruthFuncs {
	return TruthFuncs{
		ResetFunc: srv.ResetStats,
		SnapshotFunc: func() ServerSnapshot {
			snap := ServerSnapshot{}
			for name, l := range srv.Stats().Listeners {
				snap[name] = ListenerCounts{Addr: l.Addr, ConnectionsAccepted: l.ConnectionsAccepted,
					ConnectionsOpen: l.ConnectionsOpen, ConnectionsIdle: l.ConnectionsIdle, Requests: l.Requests,
					PeakInFlightPerConn: l.PeakInFlightPerConn, Protos: l.Protos}
			}
			return snap
		},
	}
}

// embedBalanced starts Scenario.Backends demo servers in this process
// behind a balancing front (Scenario.Balance, Sticky), the front's h1 and
// h2c listeners made where Embed makes the server's (on the link's server
// side when lk is not nil; the backends stay on loopback, in the same
// machine as the front). The targets are the front's; the truth is the
// front's count of connections and every backend's own.
func embedBalanced(opts *Options, maxStreams int, lk *link.Network) (func(), error) {
	sc := &opts.Scenario
	names, err := BehindFront(opts.Contenders, len(opts.Contenders) > 0, opts.TLS)
	if err != nil {
		return nil, err
	}
	opts.Contenders = names
	listen, dial, addr := net.Listen, DialFunc(nil), "127.0.0.1:0"
	if lk != nil {
		listen, dial, addr = lk.Listen, lk.Dial, ":0"
	}
	lns := map[string]net.Listener{}
	for _, kind := range []string{balance.KindH1, balance.KindH2C} {
		ln, err := listen("tcp", addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("embedded front: %w", err)
		}
		lns[kind] = ln
	}
	local, err := balance.StartLocal(balance.LocalOptions{Backends: sc.Backends, Mode: sc.Balance, Sticky: sc.Sticky,
		Server: mux.Options{MaxConcurrentStreams: maxStreams}, Listeners: lns})
	if err != nil {
		for _, l := range lns {
			l.Close()
		}
		return nil, err
	}
	for kind, name := range map[string]string{balance.KindH1: mux.ListenerH1, balance.KindH2C: mux.ListenerH2C} {
		t, err := NewTarget(name, "http://"+lns[kind].Addr().String(), dial)
		if err != nil {
			local.Close()
			return nil, err
		}
		t.Link = lk
		if kind == balance.KindH2C && lk == nil { // the backends are on loopback: reachable only without a link
			for _, b := range local.Front.Stats().Backends {
				t.Upstreams = append(t.Upstreams, NamedAddr{Name: b.Name, Addr: local.Addr(b.Name, balance.KindH2C)})
			}
		}
		opts.Targets = append(opts.Targets, t)
	}
	opts.Embedded = true
	truth := balancedTruth(local, lns)
	// Each turn starts with the first backends, and changes them midway
	// if the scenario says so.
	truth.ResetFunc = func() {
		local.Restore()
		local.ResetStats()
	}
	truth.MidwayFunc = func() {
		if sc.AddBackend {
			local.AddBackend()
		}
		if sc.StopBackend {
			local.Stop(stoppedBackend)
		}
	}
	opts.Truth = truth
	return func() { local.Close() }, nil
}

// balancedTruth is the front's count of the connections it accepted on
// each listener, and each backend's own count of its requests.
func balancedTruth(local *balance.Local, lns map[string]net.Listener) TruthFuncs {
	kinds := map[string]string{balance.KindH1: mux.ListenerH1, balance.KindH2C: mux.ListenerH2C}
	return TruthFuncs{
		ResetFunc: local.ResetStats,
		SnapshotFunc: func() ServerSnapshot {
			st := local.Front.Stats()
			var requests, direct int64
			for _, b := range st.Backends {
				if b.Own != nil {
					requests += b.Own.Requests
					direct += b.Own.ConnectionsAccepted
				}
			}
			snap := ServerSnapshot{}
			for kind, name := range kinds {
				accepted := st.Accepted[kind]
				if accepted == 0 && kind == balance.KindH2C {
					// Nothing came through the front: the connections are
					// those the backends accepted straight from the client
					// (a sidecar balancing over them itself).
					accepted = direct
				}
				snap[name] = ListenerCounts{Addr: lns[kind].Addr().String(), ConnectionsAccepted: accepted, Requests: requests}
			}
			return snap
		},
		BackendsFunc: func() []results.BackendFigures {
			var out []results.BackendFigures
			for _, b := range local.Front.Stats().Backends {
				if b.Own != nil {
					out = append(out, results.BackendFigures{Name: b.Name, Requests: b.Own.Requests, Counted: true})
				}
			}
			// By number: b2 before b10, and a backend started again in
			// its place.
			slices.SortFunc(out, func(a, b results.BackendFigures) int {
				return cmp.Or(cmp.Compare(len(a.Name), len(b.Name)), cmp.Compare(a.Name, b.Name))
			})
			return out
		},
	}
}

// BehindFront returns the contenders that run behind a balancing front
// (Scenario.Backends), which serves HTTP/1.1 and h2c over TCP. Of names
// chosen by the user (named), one that speaks anything else (TLS, HTTP/3,
// a browser) is an error; of names not chosen (the defaults; none: every
// default contender), those are left out.
func BehindFront(names []string, named, tls bool) ([]string, error) {
	fits := func(c Contender) bool {
		return (c.Listener == mux.ListenerH1 || c.Listener == mux.ListenerH2C) && !tls && !c.PageOnly
	}
	if !named {
		if len(names) == 0 {
			names = DefaultContenderNames()
		}
		var out []string
		for _, n := range names {
			if c, _ := LookupContender(n); fits(c) {
				out = append(out, n)
			}
		}
		return out, nil
	}
	for _, n := range names {
		c, err := LookupContender(n)
		if err != nil {
			return nil, err
		}
		if !fits(c) {
			return nil, fmt.Errorf("%s cannot run behind the balancing front (backends), which serves HTTP/1.1 and h2c over TCP, without TLS", n)
		}
	}
	return names, nil
}
