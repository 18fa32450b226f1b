package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"

	"muxlab/bench"
	"muxlab/link"
	"muxlab/mux"
	"muxlab/mux/h3"
	"muxlab/pageset"
)

// readURLs reads --urls: its origin becomes the server measured (as --url),
// its paths the page's objects. One origin for now: a list of several is
// refused, naming them.
func (f *benchFlags) readURLs() error {
	if f.urlsFile == "" {
		return nil
	}
	file, err := os.Open(f.urlsFile)
	if err != nil {
		return usagef("--urls: %v", err)
	}
	defer file.Close()
	l, err := pageset.ParseURLs(file)
	if err != nil {
		return usagef("--urls: %s: %v", f.urlsFile, strings.TrimPrefix(err.Error(), "pageset: "))
	}
	origins := l.Origins()
	given := f.url != "" || f.h1URL != "" || f.h2cURL != ""
	if len(origins) > 1 && !given {
		return usagef("--urls: %s: %d origins (%s): give --url, a server that answers them all by their Host (muxlab serve --har)",
			f.urlsFile, len(origins), strings.Join(origins, ", "))
	}
	if !given {
		f.url = origins[0]
	}
	f.pageList = l
	return nil
}

// readHAR reads --har: its 2xx entries (the objects a replay can succeed
// on) become the page's objects, each with its origin's host; the server
// is the one given, replaying every origin (muxlab serve --har). hey,
// which cannot keep connections per origin, is left out.
func (f *benchFlags) readHAR() error {
	if f.harFile == "" {
		return nil
	}
	if f.urlsFile != "" {
		return usagef("--har and --urls: one page at a time")
	}
	if f.url == "" && f.h1URL == "" {
		return usagef("--har: give the server that replays the page: --url http://127.0.0.1:8080 (muxlab serve --har %s --both 127.0.0.1:8080)", f.harFile)
	}
	file, err := os.Open(f.harFile)
	if err != nil {
		return usagef("--har: %v", err)
	}
	defer file.Close()
	p, err := pageset.ParseHAR(file)
	if err != nil {
		return usagef("--har: %s: %v", f.harFile, strings.TrimPrefix(err.Error(), "pageset: "))
	}
	kept := p.Entries[:0:0]
	for _, e := range p.Entries {
		if e.Status/100 == 2 {
			kept = append(kept, e)
		}
	}
	if len(kept) == 0 {
		return usagef("--har: %s: no entry answered 2xx, nothing a replay can load", f.harFile)
	}
	f.harPage, f.harLeftOut = &pageset.Page{Entries: kept}, len(p.Entries)-len(kept)
	if !f.flagSet.Changed("contenders") {
		f.contenders = slices.DeleteFunc(slices.Clone(f.contenders), func(c string) bool { return c == bench.Hey })
	} else if slices.Contains(f.contenders, bench.Hey) {
		return usagef("--contenders: hey cannot keep connections per origin, which a recorded page needs; leave it out")
	}
	return nil
}

// oneURL turns --url into the per-protocol URLs: every contender measures
// the one server, HTTP/1.1 and HTTP/2 chosen by ALPN on https:// (so over
// TLS), HTTP/1.1 and h2c with prior knowledge on http://.
func (f *benchFlags) oneURL() error {
	if f.url == "" {
		return nil
	}
	switch {
	case len(f.url) > 8 && f.url[:8] == "https://":
		f.tls = true
	case len(f.url) > 7 && f.url[:7] == "http://":
		if f.tls {
			return usagef("--url %q with --tls: give an https:// URL", f.url)
		}
	default:
		return usagef("--url: %q is not a base URL like https://example.com or http://127.0.0.1:8080", f.url)
	}
	// A per-protocol URL given beside it overrides it.
	if f.h1URL == "" {
		f.h1URL = f.url
	}
	if f.h2cURL == "" {
		f.h2cURL = f.url
	}
	return nil
}

// embedded reports whether the run measures a server started in process.
func (f *benchFlags) embedded() bool { return f.h1URL == "" && f.h2cURL == "" && f.h3URL == "" }

// remoteContenders checks the contenders against the servers named: h3
// needs --h3-url, and is left out of the default when it is not given;
// --tls needs https:// URLs, and cleartext http:// ones.
func (f *benchFlags) remoteContenders() error {
	named := f.flagSet.Changed("contenders")
	wantH3 := slices.Contains(f.contenders, bench.H3) || slices.Contains(f.contenders, bench.SidecarH3)
	switch {
	case f.h3URL == "" && wantH3 && named:
		return usagef("--contenders: h3 and sidecar-h3 need --h3-url, the HTTP/3 server to measure")
	case f.h3URL == "" && wantH3:
		f.contenders = slices.DeleteFunc(slices.Clone(f.contenders), func(c string) bool { return c == bench.H3 || c == bench.SidecarH3 })
	case f.h3URL != "" && f.h1URL == "" && !named:
		f.contenders = []string{bench.H3}
	}
	scheme := "http://"
	if f.tls {
		scheme = "https://"
	}
	for _, u := range []struct{ flag, url string }{{"h1-url", f.h1URL}, {"h2c-url", f.h2cURL}} {
		if u.url != "" && (len(u.url) < len(scheme) || u.url[:len(scheme)] != scheme) {
			if f.tls {
				return usagef("--%s: %q: with --tls the server is reached over TLS, at an https:// URL", u.flag, u.url)
			}
			return usagef("--%s: %q: give an http:// URL, or --tls for https://", u.flag, u.url)
		}
	}
	if f.h3URL != "" && (len(f.h3URL) < 8 || f.h3URL[:8] != "https://") {
		return usagef("--h3-url: %q: HTTP/3 runs over TLS: give an https:// URL", f.h3URL)
	}
	return nil
}

// targets are the listeners of another server, from --h1-url, --h2c-url
// and --h3-url, verified with --cacert's certificates (or none with
// --insecure).
func (f *benchFlags) targets() ([]bench.Target, error) {
	roots, err := f.roots()
	if err != nil {
		return nil, err
	}
	h1, h2 := mux.ListenerH1, mux.ListenerH2C
	if f.tls {
		h1, h2 = mux.ListenerH1TLS, mux.ListenerH2TLS
	}
	var out []bench.Target
	for _, t := range []struct{ flag, listener, url string }{
		{"h1-url", h1, f.h1URL}, {"h2c-url", h2, f.h2cURL}, {"h3-url", mux.ListenerH3, f.h3URL},
	} {
		if t.url == "" {
			continue
		}
		tg, err := bench.NewTarget(t.listener, t.url, nil)
		if err != nil {
			return nil, usagef("--%s: %q is not a base URL like http://127.0.0.1:8080 or https://127.0.0.1:8443", t.flag, t.url)
		}
		if tg.TLS != nil {
			tg.TLS.RootCAs, tg.TLS.InsecureSkipVerify = roots, f.insecure
		}
		out = append(out, tg)
	}
	return out, nil
}

// roots reads --cacert; nil means the system's roots.
func (f *benchFlags) roots() (*x509.CertPool, error) {
	if f.cacert == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(f.cacert)
	if err != nil {
		return nil, usagef("--cacert: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, usagef("--cacert: %s holds no PEM certificate", f.cacert)
	}
	return pool, nil
}

// embed starts a mux server in this process, on listeners it makes (ports
// chosen by the kernel, or by the emulated link's server side when lk is
// not nil) and hands to the server: h1 and h2c, the TLS ones with
// Options.TLS, and h3 when h3 runs. opts is pointed at them, the server's
// certificate trusted and its counts read in process.
func embed(opts *bench.Options, maxStreams int, lk *link.Network) (stop func(), err error) {
	listen, dial := net.Listen, bench.DialFunc(nil)
	addr := "127.0.0.1:0"
	listenPacket := func() (net.PacketConn, error) { return net.ListenPacket("udp", "127.0.0.1:0") }
	if lk != nil {
		listen, dial, addr = lk.Listen, lk.Dial, ":0"
		listenPacket = func() (net.PacketConn, error) { return lk.ListenPacket("udp", ":0") }
	}
	names := []string{mux.ListenerH1, mux.ListenerH2C}
	if opts.TLS {
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
	srv, err := mux.New(mux.Options{Listeners: lns, MaxConcurrentStreams: maxStreams, Certificate: cert})
	if err != nil {
		return nil, err
	}
	if slices.Contains(opts.Contenders, bench.H3) || slices.Contains(opts.Contenders, bench.SidecarH3) || len(opts.Contenders) == 0 {
		pc, err := listenPacket()
		if err == nil {
			var l *h3.Listener
			if l, err = h3.Listen(srv, h3.Options{PacketConn: pc, Certificate: cert, MaxStreams: int64(maxStreams)}); err == nil {
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
		t, err := bench.NewTarget(name, srv.URL(name), dial)
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
		opts.Targets = append(opts.Targets, t)
	}
	opts.Embedded = true
	opts.Truth = embeddedTruth(srv)
	return func() { srv.Close() }, nil
}
