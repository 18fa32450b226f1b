package main

import (
	"crypto/x509"
	"maps"
	"os"
	"slices"
	"strings"

	"muxlab/bench"
	"muxlab/mux"
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
		return usagef("--urls: %s: %v", f.urlsFile, pageset.Problem(err))
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
// is the one given, replaying every origin (muxlab serve --har), or the
// embedded one, replaying it itself. hey, which cannot keep connections
// per origin, is left out.
func (f *benchFlags) readHAR() error {
	if f.harFile == "" {
		return nil
	}
	if f.urlsFile != "" {
		return usagef("--har and --urls: one page at a time")
	}
	file, err := os.Open(f.harFile)
	if err != nil {
		return usagef("--har: %v", err)
	}
	defer file.Close()
	p, err := pageset.ParseHAR(file)
	if err != nil {
		return usagef("--har: %s: %v", f.harFile, pageset.Problem(err))
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
	f.harReplay = pageset.NewReplayer(p)
	oneOrigin := func(name string) bool { c, err := bench.LookupContender(name); return err == nil && c.OneOrigin }
	if !f.flagSet.Changed("contenders") {
		f.contenders = slices.DeleteFunc(slices.Clone(f.contenders), oneOrigin)
	} else if i := slices.IndexFunc(f.contenders, oneOrigin); i >= 0 {
		return usagef("--contenders: %s cannot keep connections per origin, which a recorded page needs; leave it out", f.contenders[i])
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

// givenURLs names the server URLs given.
func (f *benchFlags) givenURLs() []string {
	var out []string
	for _, u := range []struct{ flag, url string }{{"--h1-url", f.h1URL}, {"--h2c-url", f.h2cURL}, {"--h3-url", f.h3URL}} {
		if u.url != "" {
			out = append(out, u.flag+" "+u.url)
		}
	}
	return out
}

// embedded reports whether the run measures a server started in process.
func (f *benchFlags) embedded() bool { return f.h1URL == "" && f.h2cURL == "" && f.h3URL == "" }

// remoteContenders checks the contenders against the servers named: each
// needs the URL of its listener (--h1-url, --h2c-url, --h3-url), and one
// whose URL is not given is left out of the default, or, named, is an
// error; --tls needs https:// URLs, and cleartext http:// ones.
func (f *benchFlags) remoteContenders() error {
	named := f.flagSet.Changed("contenders")
	h1, h2 := mux.ListenerH1, mux.ListenerH2C
	if f.tls {
		h1, h2 = mux.ListenerH1TLS, mux.ListenerH2TLS
	}
	urls := map[string]string{h1: f.h1URL, h2: f.h2cURL, mux.ListenerH3: f.h3URL}
	flags := map[string]string{h1: "--h1-url", h2: "--h2c-url", mux.ListenerH3: "--h3-url"}
	var keep []string
	missing := map[string][]string{} // flag -> the contenders that need it
	for _, name := range f.contenders {
		c, err := bench.LookupContender(name)
		if err != nil {
			return usagef("--contenders: %v", err)
		}
		l := c.Listener
		if f.tls && c.TLSListener != "" {
			l = c.TLSListener
		}
		if urls[l] != "" {
			keep = append(keep, name)
			continue
		}
		flag := flags[l]
		if flag == "" {
			flag = "the embedded server (its " + l + " listener)"
		}
		missing[flag] = append(missing[flag], name)
	}
	if named && len(missing) > 0 {
		flag := slices.Sorted(maps.Keys(missing))[0] // the first, in a fixed order
		them, verb := missing[flag], "needs"
		if len(them) > 1 {
			verb = "need"
		}
		return usagef("--contenders: %s %s %s, the server to measure for it", strings.Join(them, " and "), verb, flag)
	}
	if len(keep) == 0 {
		return usagef("--contenders: none of %s measures the servers given (%s)", strings.Join(f.contenders, ", "), strings.Join(f.givenURLs(), ", "))
	}
	f.contenders = keep
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
