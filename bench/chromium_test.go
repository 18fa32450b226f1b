package bench_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"muxlab/bench"
	"muxlab/internal/browsertest"
	"muxlab/internal/muxtest"
	"muxlab/link"
	"muxlab/pageset"
	"muxlab/results"
)

func TestChromiumContenders(t *testing.T) { onStacks(t, testChromiumContenders) }

// runOverLink runs opts against the embedded server behind a link of the
// given round trip on stack, every request accounted for.
func runOverLink(t *testing.T, stack string, rtt time.Duration, opts bench.Options) (*results.Run, *link.Network) {
	t.Helper()
	lo := linkOpts(rtt, 0, 0)
	lo.Stack = stack
	n, err := link.New(lo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	opts.Link = n
	stop, err := bench.Embed(&opts, 0, n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	r := run(t, context.Background(), opts)
	accounted(t, r)
	return r, n
}

// A real Chromium on either stack, in the client namespace or through
// forwarders, loads every page: every object answered, the server counting
// 6, 1 and 1 connections that carried requests (Chromium's idle ones
// apart), each protocol the one its listener offers, and no page faster
// than the link's round trip.
func testChromiumContenders(t *testing.T, stack string) {
	browsertest.Require(t)
	sc := scenario(t, "page", func(s *results.Scenario) {
		s.Objects, s.Pages, s.Rounds, s.Warmup, s.Delay, s.Size = 24, 2, 1, 1, 0, 4<<10
	})
	r, n := runOverLink(t, stack, 20*time.Millisecond, bench.Options{Scenario: sc, Contenders: []string{bench.H2, bench.ChromiumH1, bench.ChromiumH2, bench.ChromiumH3}})
	if ns, ok := n.ClientNamespace(); ok {
		// The browsers have ended with their turns: no process is left in
		// the client namespace.
		want, err := os.Readlink(ns)
		if err != nil {
			t.Fatal(err)
		}
		muxtest.WaitFor(t, 10*time.Second, "no process left in the client namespace", func() bool {
			paths, _ := filepath.Glob("/proc/[0-9]*/ns/net")
			for _, p := range paths {
				if got, err := os.Readlink(p); err == nil && got == want && p != fmt.Sprintf("/proc/%d/ns/net", os.Getpid()) {
					return false
				}
			}
			return true
		})
	}
	want := map[string]struct {
		conns int64
		proto string
	}{bench.ChromiumH1: {6, "HTTP/1.1"}, bench.ChromiumH2: {1, "HTTP/2.0"}, bench.ChromiumH3: {1, "HTTP/3.0"}}
	if !strings.Contains(r.Verdict, "Chromium / muxlab, HTTP/2: ") {
		t.Errorf("verdict %q: want the browser's page against h2's", r.Verdict)
	}
	for _, c := range r.Contenders {
		if c.Name == bench.H2 {
			continue
		}
		tot, w := c.Total, want[c.Name]
		if tot.Error != "" || tot.OK != tot.Sent || tot.Sent != int64(sc.Pages*sc.Objects) {
			t.Errorf("%s: ok %d of %d, error %q", c.Name, tot.OK, tot.Sent, tot.Error)
			continue
		}
		if s := tot.Server; s == nil || s.ConnectionsAccepted-s.ConnectionsIdle != w.conns || s.Protos[w.proto] != s.Requests {
			t.Errorf("%s: server %+v; want %d connections carrying %s", c.Name, s, w.conns, w.proto)
		}
		if p := tot.Page; p == nil || p.Count != int64(sc.Pages) || p.P50 < 20 {
			t.Errorf("%s: page %+v; want %d pages, none under the 20 ms round trip", c.Name, p, sc.Pages)
		}
		if tot.Model == nil || tot.Model.Predicted <= 0 {
			t.Errorf("%s: model %+v", c.Name, tot.Model)
		}
		if b := tot.Browser; b == nil || b.Pages != int64(sc.Pages) || b.FirstRequest <= 0 || b.Network <= 0 || !b.CPUStallKnown || b.QuietWall <= 0 {
			t.Errorf("%s: the browser's own timings %+v", c.Name, b)
		}
		if len(c.Rounds[0].Sample) != sc.Objects {
			t.Errorf("%s: %d objects in the waterfall's sample, want the page's %d", c.Name, len(c.Rounds[0].Sample), sc.Objects)
		}
	}
}

func TestChromiumColdPages(t *testing.T) { onStacks(t, testChromiumColdPages) }

// Cold pages each load in a fresh browser context: every page (the warm-up
// one too) opens its connection, which the server counts, and each page's
// first request waits for the handshake's round trips (TCP and TLS, or
// QUIC's one) on the link.
func testChromiumColdPages(t *testing.T, stack string) {
	browsertest.Require(t)
	const rtt = 30 * time.Millisecond
	sc := scenario(t, "page", func(s *results.Scenario) {
		s.Objects, s.Pages, s.Rounds, s.Warmup, s.Delay, s.Size, s.Cold = 12, 2, 1, 1, 0, 4<<10, true
	})
	r, _ := runOverLink(t, stack, rtt, bench.Options{Scenario: sc, Contenders: []string{bench.ChromiumH2, bench.ChromiumH3}})
	for _, c := range r.Contenders {
		tot := c.Total
		if tot.Error != "" || tot.OK != int64(sc.Pages*sc.Objects) {
			t.Errorf("%s: ok %d, error %q", c.Name, tot.OK, tot.Error)
			continue
		}
		if s := tot.Server; s == nil || s.ConnectionsAccepted-s.ConnectionsIdle != int64(sc.Pages+sc.Warmup) {
			t.Errorf("%s: server %+v; want one connection carrying requests per page, %d", c.Name, s, sc.Pages+sc.Warmup)
		}
		handshake := 2 * rtt
		if c.Name == bench.ChromiumH3 {
			handshake = rtt
		}
		if b := tot.Browser; b == nil || b.Pages == 0 || b.FirstRequest.D()/time.Duration(b.Pages) < handshake {
			t.Errorf("%s: the browser's timings %+v; want each page's first request after the %v handshake", c.Name, b, handshake)
		}
	}
}

func TestChromiumRecordedPage(t *testing.T) { onStacks(t, testChromiumRecordedPage) }

// A recorded page of three origins, replayed by the embedded server: the
// browser reaches every origin (its names mapped onto the link's server),
// fetches every object across origins, and keeps a connection of its own
// per origin, as muxlab's per-origin clients do; the browser's own requests
// (its updater's, its accounts') resolve to nothing.
func testChromiumRecordedPage(t *testing.T, stack string) {
	browsertest.Require(t)
	origins := []string{"https://www.shop.test", "https://static.shop.test", "https://cdn.example.test"}
	var entries []string
	for i := range 12 {
		entries = append(entries, fmt.Sprintf(`{"request": {"method": "GET", "url": "%s/o/%d.js"},
		  "response": {"status": 200, "headers": [{"name": "Content-Type", "value": "text/javascript"}], "content": {"size": %d}},
		  "timings": {"wait": 2}}`, origins[i%len(origins)], i, 1000+i))
	}
	page, err := pageset.ParseHAR(strings.NewReader(`{"log": {"version": "1.2", "entries": [` + strings.Join(entries, ",") + `]}}`))
	if err != nil {
		t.Fatal(err)
	}
	sc := scenario(t, "page", func(s *results.Scenario) {
		s.Pages, s.Rounds, s.Warmup, s.Delay, s.Size, s.Endpoint = 2, 1, 1, 0, 0, ""
		for _, e := range page.Entries {
			s.Paths, s.Hosts = append(s.Paths, e.URL.RequestURI()), append(s.Hosts, e.URL.Hostname())
		}
		s.Objects = len(s.Paths)
	})
	r, _ := runOverLink(t, stack, 20*time.Millisecond, bench.Options{Scenario: sc, Contenders: []string{bench.H2, bench.ChromiumH2, bench.ChromiumH3}, Replay: pageset.NewReplayer(page)})
	for _, c := range r.Contenders {
		tot := c.Total
		if tot.Error != "" || tot.OK != int64(sc.Pages*sc.Objects) || tot.Statuses["200"] != tot.OK {
			t.Errorf("%s: ok %d of %d, statuses %v, error %q", c.Name, tot.OK, sc.Pages*sc.Objects, tot.Statuses, tot.Error)
		}
		if s := tot.Server; s == nil || s.ConnectionsAccepted-s.ConnectionsIdle != int64(len(origins)) || s.Requests != int64((sc.Pages+sc.Warmup)*sc.Objects) {
			t.Errorf("%s: server %+v; want a connection carrying requests per origin, %d, and the pages' %d requests, none of the browser's own",
				c.Name, s, len(origins), (sc.Pages+sc.Warmup)*sc.Objects)
		}
	}
}
