package bench

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"muxlab/browser"
	"muxlab/mux"
	"muxlab/results"
)

// runChromium runs a turn of a browser contender: one fresh headless
// Chromium loads the warm-up pages, then the measured ones, each a page
// whose objects are all discoverable at once, timed by the browser's own
// Navigation and Resource Timing. Warm pages load in the browser's tab,
// reusing the connections of the pages before; cold ones (Scenario.Cold)
// each in a fresh browser context. On the kernel stack the browser runs in
// the link's client namespace; on the userspace stack it reaches the link
// through forwarders on loopback, one emulated connection (or QUIC flow)
// per browser connection.
func runChromium(ctx context.Context, r *runner, c *contender, rd *results.Round) {
	sc := &r.opts.Scenario
	t := c.target
	quic := c.Listener == mux.ListenerH3
	if t.TLS != nil && t.SPKI == "" && t.TLS.RootCAs != nil && !t.TLS.InsecureSkipVerify {
		// Certificates of the user's (--cacert) verify the server here; the
		// browser is then told to trust the key of the certificate so
		// verified, and that key alone.
		spki, err := verifiedSPKI(ctx, t, quic, r.opts.DialTimeout)
		if err != nil {
			rd.Error = "chromium: " + err.Error()
			return
		}
		t.SPKI = spki
	}
	fctx, cancel := context.WithCancel(ctx) // the forwarders are the turn's
	defer cancel()
	origin, netns, mapTo, err := chromiumOrigin(fctx, t, quic, r.opts)
	if err != nil {
		rd.Error = "chromium: " + err.Error()
		return
	}
	// A quiet moment first: how busy the machine is with something else.
	own := &results.Browser{}
	q0, quietKnown := cpuStall()
	qstart := time.Now()
	select {
	case <-ctx.Done():
		return
	case <-time.After(quietWindow):
	}
	q1, ok := cpuStall()
	own.QuietWall, own.QuietStall = results.Duration(time.Since(qstart)), results.Duration(q1-q0)
	quietKnown = quietKnown && ok
	bo := browser.Options{NetNS: netns, DisableHTTP2: c.Protocol == "HTTP/1.1 (Chromium)"}
	if t.SPKI != "" {
		bo.TrustSPKI = []string{t.SPKI}
	}
	if t.TLS != nil && t.TLS.InsecureSkipVerify {
		bo.IgnoreCertErrors = true
	}
	urls, origins := chromiumURLs(sc)
	if quic && len(origins) == 0 {
		bo.QUICOrigins = []string{strings.TrimPrefix(origin, "https://")}
	}
	if u, err := url.Parse(origin); err == nil {
		bo.Reach = []string{u.Hostname()}
		if mapTo != "" { // another server, through its relay on the link
			bo.Reach, bo.MapHosts, bo.MapTo = nil, []string{u.Hostname()}, mapTo
		}
	}
	if len(origins) > 0 { // a recorded page: every origin is the target's
		bo.MapTo = strings.TrimPrefix(origin, "https://")
		for _, o := range origins {
			host := strings.TrimPrefix(o, "https://")
			bo.MapHosts = append(bo.MapHosts, host)
			if quic {
				bo.QUICOrigins = append(bo.QUICOrigins, host+":443")
			}
		}
		origin = origins[0]
	}
	b, err := browser.Start(ctx, bo)
	if err != nil {
		rd.Error = err.Error()
		return
	}
	defer b.Close()
	for range sc.Warmup {
		if _, err := b.LoadPage(ctx, origin, urls, sc.Cold); err != nil {
			rd.Error = err.Error()
			return
		}
		r.progress.Add(int64(len(urls)))
	}
	rec := newRecorder()
	page := results.NewHistogram()
	stall0, stallKnown := cpuStall()
	start := time.Now()
	r.measure(rd, func() {
		for p := 0; p < sc.Pages && ctx.Err() == nil; p++ {
			pg, err := b.LoadPage(ctx, origin, urls, sc.Cold)
			if err != nil {
				for range urls { // the page's objects were asked for: each ends as failed or cancelled
					rec.record(&outcome{err: err, canceled: ctx.Err() != nil, lag: -1})
				}
				rd.PagesIncomplete++
				continue
			}
			complete := true
			for i, o := range pg.Objects {
				out := outcome{status: o.Status, latency: o.End - o.Start, lag: -1, wait: o.RequestStart - o.Start, service: o.End - o.RequestStart}
				if o.Status == 0 {
					out.err = errors.New("the browser's request failed: " + o.Err)
					out.latency, out.wait, out.service = 0, 0, 0
				}
				complete = complete && o.Status >= 200 && o.Status <= 299
				rec.record(&out)
				if len(rd.Sample) < len(urls) && p == 0 {
					rd.Sample = append(rd.Sample, results.Timing{Object: i, StartUS: o.Start.Microseconds(),
						SentUS: o.RequestStart.Microseconds(), EndUS: o.End.Microseconds(), Status: o.Status})
				}
			}
			if complete {
				page.Record(pg.Total)
				own.Pages++
				own.FirstRequest += results.Duration(pg.FirstRequest)
				own.Network += results.Duration(pg.Network)
				own.Idle += results.Duration(max(pg.Total-pg.FirstRequest-pg.Network, 0))
				own.AfterLastByte += results.Duration(max(pg.Load-pg.Total, 0))
			} else {
				rd.PagesIncomplete++
			}
			r.progress.Add(int64(len(urls)))
		}
	})
	own.Wall = results.Duration(time.Since(start))
	if stall1, ok := cpuStall(); ok && stallKnown && quietKnown {
		own.CPUStall, own.CPUStallKnown = results.Duration(stall1-stall0), true
	}
	rec.fill(rd)
	rd.Page = page.Dist()
	rd.Browser = own
	rd.Model = c.model(sc, &r.run.Network, 0, rd.Page)
}

// chromiumURLs are the page's objects as the browser asks for them: the
// paths of the one origin, or for a recorded page of several origins
// (Scenario.Hosts) the URLs of each, every origin over https, and its
// origins in the order first named.
func chromiumURLs(sc *results.Scenario) (urls, origins []string) {
	seen := map[string]bool{}
	for _, tg := range paths(sc) {
		if tg.host == "" {
			urls = append(urls, tg.path)
			continue
		}
		o := "https://" + tg.host
		if !seen[o] {
			seen[o] = true
			origins = append(origins, o)
		}
		urls = append(urls, o+tg.path)
	}
	return urls, origins
}

// quietWindow is how long a browser contender's turn watches the machine
// before it starts the browser.
const quietWindow = 500 * time.Millisecond

// cpuStall is the machine's total time with some task waiting for a CPU
// (Linux's pressure stall information, /proc/pressure/cpu); ok is false
// where the kernel does not keep it.
func cpuStall() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n") // some avg10=0.00 avg60=0.00 avg300=0.00 total=123
	if !strings.HasPrefix(line, "some ") {
		return 0, false
	}
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, "total="); ok {
			us, err := strconv.ParseInt(v, 10, 64)
			return time.Duration(us) * time.Microsecond, err == nil
		}
	}
	return 0, false
}

// chromiumOrigin is where the browser finds the target, the network
// namespace it must run in, and, for another server behind the link, the
// address its origin's host must resolve to (its relay, or a forwarder to
// it): the target itself from the link's client namespace (kernel stack),
// a forwarder on loopback (userspace stack), or the target on the
// machine's own network.
func chromiumOrigin(ctx context.Context, t Target, quic bool, o *Options) (origin, netns, mapTo string, err error) {
	if t.Link == nil {
		return t.URL, "", "", nil
	}
	addr := t.Addr
	if t.LinkAddr != "" {
		addr = t.LinkAddr
	}
	if ns, ok := t.Link.ClientNamespace(); ok {
		if addr != t.Addr {
			return t.URL, ns, addr, nil
		}
		return t.URL, ns, "", nil
	}
	var local string
	if quic {
		local, err = t.Link.ForwardPacket(ctx, "127.0.0.1:0", addr)
	} else {
		local, err = t.Link.ForwardFrom(ctx, "127.0.0.1:0", addr, o.DialTimeout)
	}
	if err != nil {
		return "", "", "", fmt.Errorf("a forwarder into the link: %w", err)
	}
	if addr != t.Addr {
		return t.URL, "", local, nil
	}
	return "https://" + local, "", "", nil
}

// verifiedSPKI handshakes with t's server, verifying its certificate by
// t.TLS (the user's certificates), and returns the base64 SHA-256 of the
// verified leaf's key, for the browser to trust (its
// --ignore-certificate-errors-spki-list).
func verifiedSPKI(ctx context.Context, t Target, overQUIC bool, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conf := t.TLS.Clone()
	var certs []*x509.Certificate
	if overQUIC {
		conf.NextProtos = []string{http3.NextProtoH3}
		listen := t.ListenPacket
		if listen == nil {
			listen = func() (net.PacketConn, error) { return net.ListenUDP("udp", nil) }
		}
		pc, err := listen()
		if err != nil {
			return "", err
		}
		defer pc.Close()
		raddr, err := net.ResolveUDPAddr("udp", t.Addr)
		if err != nil {
			return "", err
		}
		tr := &quic.Transport{Conn: pc}
		defer tr.Close()
		qc, err := tr.Dial(ctx, raddr, conf, &quic.Config{DisablePathMTUDiscovery: t.ListenPacket != nil})
		if err != nil {
			return "", fmt.Errorf("verifying %s's certificate with the certificates given (QUIC): %w", t.Addr, err)
		}
		certs = qc.ConnectionState().TLS.PeerCertificates
		qc.CloseWithError(0, "")
	} else {
		conf.NextProtos = []string{"h2", "http/1.1"}
		dial := t.Dial
		if dial == nil {
			dial = (&net.Dialer{}).DialContext
		}
		nc, err := dial(ctx, "tcp", t.Addr)
		if err != nil {
			return "", err
		}
		defer nc.Close()
		tc := tls.Client(nc, conf)
		if err := tc.HandshakeContext(ctx); err != nil {
			return "", fmt.Errorf("verifying %s's certificate with the certificates given: %w", t.Addr, err)
		}
		certs = tc.ConnectionState().PeerCertificates
	}
	if len(certs) == 0 {
		return "", fmt.Errorf("%s sent no certificate", t.Addr)
	}
	sum := sha256.Sum256(certs[0].RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:]), nil
}
