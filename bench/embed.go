package bench

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"

	"muxlab/link"
	"muxlab/mux"
	"muxlab/mux/h3"
)

// Embed starts a mux server in this process, on listeners it makes (ports
// chosen by the kernel, or by the emulated link's server side when lk is
// not nil) and hands to the server: h1 and h2c, the TLS ones with
// Options.TLS, and h3 when h3 runs. opts is pointed at them, the server's
// certificate trusted and its counts read in process.
func Embed(opts *Options, maxStreams int, lk *link.Network) (stop func(), err error) {
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
			lo := h3.Options{PacketConn: pc, Certificate: cert, MaxStreams: int64(maxStreams), StreamLoss: opts.Scenario.SlowEvery > 0}
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
