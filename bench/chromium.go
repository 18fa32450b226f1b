package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"muxlab/browser"
	"muxlab/mux"
	"muxlab/results"
)

// runChromium runs a turn of a browser contender: one fresh headless
// Chromium opens the listener's /blank page (its first connection), loads
// the warm-up pages, then the measured ones, each page's objects fetched
// all at once and timed by the browser's own Resource Timing. On the
// kernel stack the browser runs in the link's client namespace; on the
// userspace stack it reaches the link through forwarders on loopback, one
// emulated connection (or QUIC flow) per browser connection.
func runChromium(ctx context.Context, r *runner, c *contender, rd *results.Round) {
	sc := &r.opts.Scenario
	t := c.target
	if t.Dial != nil && t.Link == nil {
		rd.Error = "chromium: only the embedded server can be reached through the emulated link by the browser for now"
		return
	}
	quic := c.Listener == mux.ListenerH3
	fctx, cancel := context.WithCancel(ctx) // the forwarders are the turn's
	defer cancel()
	origin, netns, err := chromiumOrigin(fctx, t, quic, r.opts)
	if err != nil {
		rd.Error = "chromium: " + err.Error()
		return
	}
	bo := browser.Options{NetNS: netns}
	if t.SPKI != "" {
		bo.TrustSPKI = []string{t.SPKI}
	}
	if quic {
		bo.QUICOrigins = []string{strings.TrimPrefix(origin, "https://")}
	}
	b, err := browser.Start(ctx, bo)
	if err != nil {
		rd.Error = err.Error()
		return
	}
	defer b.Close()
	if err := b.Open(ctx, origin+"/blank"); err != nil {
		rd.Error = err.Error()
		return
	}
	var urls []string
	for _, tg := range paths(sc) {
		urls = append(urls, tg.path)
	}
	for range sc.Warmup {
		if _, err := b.Load(ctx, urls); err != nil {
			rd.Error = err.Error()
			return
		}
	}
	r.progress.Store(0)
	rec := newRecorder()
	page := results.NewHistogram()
	r.measure(rd, func() {
		for p := 0; p < sc.Pages && ctx.Err() == nil; p++ {
			pg, err := b.Load(ctx, urls)
			if err != nil {
				for range urls { // the page's objects were sent: each ends as failed or cancelled
					rec.record(&outcome{err: err, canceled: ctx.Err() != nil, lag: -1})
				}
				rd.PagesIncomplete++
				continue
			}
			complete := true
			for _, o := range pg.Objects {
				out := outcome{status: o.Status, latency: o.End, lag: -1, wait: o.RequestStart, service: o.End - o.RequestStart}
				if o.Status == 0 {
					out.err = errors.New("the browser's fetch failed: " + o.Err)
					complete = false
				}
				complete = complete && o.Status >= 200 && o.Status <= 299
				rec.record(&out)
			}
			if complete {
				page.Record(pg.Total)
			} else {
				rd.PagesIncomplete++
			}
			r.progress.Add(int64(len(urls)))
		}
	})
	rec.fill(rd)
	rd.Page = page.Dist()
	rd.Model = c.model(sc, &r.run.Network, 0, rd.Page)
}

// chromiumOrigin is where the browser finds the target, and the network
// namespace it must run in: the target itself from the link's client
// namespace (kernel stack), a forwarder on loopback (userspace stack), or
// the target on the machine's own network.
func chromiumOrigin(ctx context.Context, t Target, quic bool, o *Options) (origin, netns string, err error) {
	if t.Link == nil {
		return t.URL, "", nil
	}
	if ns, ok := t.Link.ClientNamespace(); ok {
		return t.URL, ns, nil
	}
	var local string
	if quic {
		local, err = t.Link.ForwardPacket(ctx, "127.0.0.1:0", t.Addr)
	} else {
		local, err = t.Link.ForwardFrom(ctx, "127.0.0.1:0", t.Addr, o.DialTimeout)
	}
	if err != nil {
		return "", "", fmt.Errorf("a forwarder into the link: %w", err)
	}
	return "https://" + local, "", nil
}
