// Package browser drives a real headless Chromium (Debian's, through
// chromedp) as a contender: it loads pages whose objects come from one
// origin and reads the browser's own timings of them (Navigation and
// Resource Timing) after the load, so that measuring streams no DevTools
// events during it.
package browser

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/css"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Defaults of Options.
const (
	DefaultExecPath = "/usr/bin/chromium"
	// DefaultStartTimeout bounds the browser's start: a Chromium that
	// cannot start is an error, never a hang.
	DefaultStartTimeout = 30 * time.Second
)

// ErrNoBrowser says the browser is not installed.
var ErrNoBrowser = errors.New("browser: Chromium is not installed (apt-get install chromium)")

// Options configures a browser. Zero fields take the defaults.
type Options struct {
	// ExecPath is the browser (DefaultExecPath).
	ExecPath string
	// TrustSPKI lists the base64 SHA-256 of the public keys of certificates
	// to trust (the run's own, self-signed), for TLS and QUIC alike.
	TrustSPKI []string
	// QUICOrigins are the host:port origins Chromium must reach over QUIC
	// from the first request (it would otherwise wait for Alt-Svc). Empty:
	// QUIC off.
	QUICOrigins []string
	// MapHosts are host names that resolve to MapTo, a host:port
	// (Chromium's host resolver rules, as its own page-replay tooling uses
	// them): a page of several origins, all served by one server. Every
	// other host but those of Reach resolves to nothing, so that the
	// browser's own requests (its updater, its accounts) reach neither the
	// server nor the world.
	MapHosts []string
	MapTo    string
	// Reach are the other hosts (names or addresses) the browser may
	// reach, as they are.
	Reach []string
	// DisableHTTP2 keeps the browser to HTTP/1.1 even where the server
	// offers h2 through ALPN.
	DisableHTTP2 bool
	// IgnoreCertErrors trusts any certificate (--insecure).
	IgnoreCertErrors bool
	// NetNS, if not empty, is the network namespace the browser must run
	// in (a path to join with nsenter --net, the link's client side): it
	// is started there, and checked to be there before it loads anything.
	// Empty: the process's own.
	NetNS string
	// StartTimeout bounds the start (DefaultStartTimeout).
	StartTimeout time.Duration
}

// Browser is one running Chromium with one tab.
type Browser struct {
	cancel context.CancelFunc // ends the browser
	tab    context.Context
	dir    string

	mu    sync.Mutex        // guards the following
	pages int               // pages loaded, naming each page's document
	html  map[string]string // the documents of the pages loading, by URL
}

// Start launches the browser with a fresh profile.
func Start(ctx context.Context, o Options) (*Browser, error) {
	if o.ExecPath == "" {
		o.ExecPath = DefaultExecPath
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if _, err := os.Stat(o.ExecPath); err != nil {
		return nil, ErrNoBrowser
	}
	dir, err := os.MkdirTemp("", "muxlab-browser-")
	if err != nil {
		return nil, fmt.Errorf("browser: %w", err)
	}
	flags := Flags(o.ExecPath, dir)
	if len(o.TrustSPKI) > 0 {
		flags = append(flags, chromedp.Flag("ignore-certificate-errors-spki-list", strings.Join(o.TrustSPKI, ",")))
	}
	if len(o.QUICOrigins) > 0 {
		flags = append(flags, chromedp.Flag("enable-quic", true), chromedp.Flag("origin-to-force-quic-on", strings.Join(o.QUICOrigins, ",")))
	} else {
		flags = append(flags, chromedp.Flag("disable-quic", true))
	}
	if o.DisableHTTP2 {
		flags = append(flags, chromedp.Flag("disable-http2", true))
	}
	if o.IgnoreCertErrors {
		flags = append(flags, chromedp.Flag("ignore-certificate-errors", true))
	}
	var rules []string
	for _, h := range o.MapHosts {
		rules = append(rules, "MAP "+h+" "+o.MapTo)
	}
	for _, h := range o.Reach {
		rules = append(rules, "EXCLUDE "+h)
	}
	flags = append(flags, chromedp.Flag("host-resolver-rules", strings.Join(append(rules, "MAP * ~NOTFOUND"), ", ")))
	if o.NetNS != "" {
		flags = append(flags, chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) {
			cmd.Args = append([]string{nsenterPath, "--net=" + o.NetNS, "--", cmd.Path}, cmd.Args[1:]...)
			cmd.Path = nsenterPath
		}))
	}
	actx, cancelA := chromedp.NewExecAllocator(context.WithoutCancel(ctx), flags...)
	// chromedp's own complaints (a browser that went away) are not ours to
	// print: the error returned says what failed.
	tab, cancelT := chromedp.NewContext(actx, chromedp.WithErrorf(func(string, ...any) {}))
	b := &Browser{cancel: func() { cancelT(); cancelA() }, tab: tab, dir: dir, html: map[string]string{}}
	// The first action starts the process. Its context is the browser's
	// lifetime, so the start's bound ends the browser instead.
	late := time.AfterFunc(o.StartTimeout, b.cancel)
	err = chromedp.Do(tab)
	if !late.Stop() {
		err = fmt.Errorf("it did not start within %v", o.StartTimeout)
	}
	if err == nil && o.NetNS != "" {
		err = inNamespace(chromedp.FromContext(tab).Browser.Process(), o.NetNS)
	}
	if err == nil {
		err = b.prepare(tab)
	}
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("browser: starting %s: %w", o.ExecPath, err)
	}
	return b, nil
}

// nsenterPath is util-linux's nsenter, which joins a namespace and execs.
const nsenterPath = "/usr/bin/nsenter"

// inNamespace checks that the browser's process runs in the namespace ns:
// one outside it would send the link's traffic to the machine's own
// network.
func inNamespace(p *os.Process, ns string) error {
	if p == nil {
		return errors.New("no process to check")
	}
	want, err := os.Readlink(ns)
	if err != nil {
		return err
	}
	got, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", p.Pid))
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("its process is in network namespace %s, not the link's %s", got, want)
	}
	return nil
}

// Flags are the options every headless Chromium of muxlab's starts with:
// the browser at execPath, a fresh profile in dir, no sandbox (it runs as
// root in a container), no GPU, nothing of its own on the network
// (component updates, background networking, sync), and no Local Network
// Access checks.
func Flags(execPath, dir string) []chromedp.ExecAllocatorOption {
	return append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(execPath), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.UserDataDir(dir), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-sync", true),
		// chromedp's own, and Local Network Access: the pages' origins are
		// names mapped onto the link's private address, which Chromium
		// would otherwise block as a public page reaching a private network.
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,LocalNetworkAccessChecks,PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults"))
}

// Close ends the browser and removes its profile.
func (b *Browser) Close() {
	b.cancel()
	os.RemoveAll(b.dir)
}

// within is the tab's context, ended with ctx too.
func within(ctx, tab context.Context) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancel(tab)
	stop := context.AfterFunc(ctx, cancel)
	return c, func() { stop(); cancel() }
}

// Object is one object of a page as the browser timed it, from the page's
// navigation start.
type Object struct {
	URL string
	// Status is the HTTP status; 0 if the fetch failed (Err says why).
	Status int
	Err    string
	// Start is when the browser began the fetch, RequestStart when it sent
	// the request (a connection or stream was free), End the last byte.
	Start, RequestStart, End time.Duration
	// ConnectStart and ConnectEnd bound the connection the browser set up
	// for this object (TCP and TLS, or QUIC); equal when it reused one, and
	// when it joined a connection that another request was setting up (so
	// they cannot count the browser's connections: the server's counts do).
	ConnectStart, ConnectEnd time.Duration
	// Protocol is what it came over: "http/1.1", "h2", "h3".
	Protocol string
}

// Page is one load of a page, timed by the browser from its navigation
// start (the page's document costs no network: the harness gives it).
type Page struct {
	Objects []Object
	// Total is from the navigation start to the last object's last byte.
	Total time.Duration
	// Load is from the navigation start to the page's end: its load event
	// over and its script done with every object's body.
	Load time.Duration
	// FirstRequest is from the navigation start to the first request sent:
	// the browser's own work (the document parsed, the objects found and
	// scheduled) and, on a page that opens connections, their handshakes.
	FirstRequest time.Duration
	// Network is how much of Total at least one request was on the
	// network (sent and not yet answered in full); Total - FirstRequest -
	// Network is the time the browser kept nothing in flight (its own
	// work, its limits on requests in flight, handshakes after the
	// first).
	Network time.Duration
}

// pagePath is the path of the pages the harness gives the browser: the
// browser asks its origin for it, and the harness answers in its place.
const pagePath = "/__muxlab/page/"

// LoadPage navigates to a page of origin that requests every one of urls
// (paths or URLs of origin) at once, and returns the browser's
// own timings of it, read after the load event from Navigation and
// Resource Timing: nothing is observed during the load. The page's
// document comes from the harness, not the network, so the page's time is
// its objects' alone. A cold page loads in a fresh browser context (no
// connection, cache or session of the pages before it); otherwise in the
// browser's own tab, whose connections the pages before it left open.
func (b *Browser) LoadPage(ctx context.Context, origin string, urls []string, cold bool) (Page, error) {
	tab := b.tab
	if cold {
		var cancel context.CancelFunc
		tab, cancel = chromedp.NewContext(b.tab, chromedp.WithNewBrowserContext())
		defer cancel()
		if err := b.prepare(tab); err != nil {
			return Page{}, fmt.Errorf("browser: a fresh context for a cold page: %w", err)
		}
	}
	ctx, cancel := within(ctx, tab)
	defer cancel()
	b.mu.Lock()
	b.pages++
	url := origin + pagePath + strconv.Itoa(b.pages)
	b.html[url] = pageHTML(urls)
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.html, url)
		b.mu.Unlock()
	}()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		return Page{}, fmt.Errorf("browser: loading %s: %w", url, err)
	}
	arg, err := json.Marshal(urls)
	if err != nil {
		return Page{}, err
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](timingScript+"("+string(arg)+")",
		func(p *runtime.EvaluateParams) { p.AwaitPromise = new(true) }))
	if err != nil {
		return Page{}, fmt.Errorf("browser: reading the page's timings: %w", err)
	}
	return parsePage(out)
}

// pageHTML is a page whose every object is discoverable at once: a
// script in its head fetches them all (the whole body of each read, none
// from a cache), as a page's scripts would. Fetch and not <img>: an image
// decoder stops reading a body that is not an image, and the browser then
// cancels the rest of it (closing an HTTP/1.1 connection), which is not a
// page's load.
func pageHTML(urls []string) string {
	list, _ := json.Marshal(urls) // "<" and ">" escaped: no URL can end the script
	return "<!doctype html><meta charset=utf-8><title>muxlab page</title><link rel=icon href=data:,>\n" +
		"<script>performance.setResourceTimingBufferSize(1000000);\n" +
		"window.__muxlab = Promise.all(" + string(list) + ".map(u => fetch(u, {cache: 'no-store'}).then(\n" +
		"  r => r.arrayBuffer(), () => null))).then(() => performance.now());</script>\n"
}

// prepare readies a tab for pages: it turns off the DevTools domains that
// would stream events during a load (the network's, the DOM's, CSS's, the
// log's), and has the harness answer the page documents (Fetch
// interception of pagePath alone).
func (b *Browser) prepare(tab context.Context) error {
	if err := chromedp.Do(tab); err != nil { // the tab's target
		return err
	}
	if err := chromedp.Listen(tab, func(ev any) {
		if e, ok := ev.(*fetch.EventRequestPaused); ok {
			go b.answer(tab, e)
		}
	}); err != nil {
		return err
	}
	for _, c := range []cdp.Command[cdp.Empty, cdp.Empty]{network.Disable, dom.Disable, css.Disable, log.Disable} {
		if _, err := chromedp.Call(tab, c, cdp.Empty{}); err != nil {
			return fmt.Errorf("%s: %w", c.Method, err)
		}
	}
	_, err := chromedp.Call(tab, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
		{URLPattern: "*" + pagePath + "*", RequestStage: fetch.RequestStageRequest}}})
	return err
}

// answer gives the browser the page document it asked for, or fails a
// request for one the harness does not know.
func (b *Browser) answer(tab context.Context, e *fetch.EventRequestPaused) {
	b.mu.Lock()
	doc, ok := b.html[e.Request.URL]
	b.mu.Unlock()
	if !ok {
		chromedp.Call(tab, fetch.FailRequest, fetch.FailRequestParams{RequestID: e.RequestID, ErrorReason: network.ErrorReasonFailed})
		return
	}
	chromedp.Call(tab, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: e.RequestID, ResponseCode: 200,
		ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "text/html; charset=utf-8"}, {Name: "Cache-Control", Value: "no-store"}},
		Body:            []byte(doc)})
}

// timingScript reads, once the load event is over, the navigation's and
// every object's timings, in the order of the URLs given.
const timingScript = `(async (urls) => {
  const done = await window.__muxlab; // every object's body read
  await new Promise(r => setTimeout(r, 0)); // loadEventEnd is set after the load event's handlers
  const nav = performance.getEntriesByType('navigation')[0];
  const byName = {};
  for (const e of performance.getEntriesByType('resource')) (byName[e.name] = byName[e.name] || []).push(e);
  return JSON.stringify({load: Math.max(done, nav ? nav.loadEventEnd : 0), objects: urls.map(u => {
    const e = (byName[new URL(u, location.href).href] || []).shift();
    if (!e) return {url: u, status: 0, err: 'the browser made no request for it (no Resource Timing entry)'};
    return {url: u, status: e.responseStatus, start: e.startTime, cs: e.connectStart, ce: e.connectEnd,
      req: e.requestStart, end: e.responseEnd, proto: e.nextHopProtocol,
      err: e.responseStatus ? '' : 'the request failed (no response)'};
  })});
})`

// parsePage reads what timingScript returned.
func parsePage(text string) (Page, error) {
	var raw struct {
		Load    float64 `json:"load"`
		Objects []struct {
			URL    string  `json:"url"`
			Status int     `json:"status"`
			Err    string  `json:"err"`
			Start  float64 `json:"start"`
			CS     float64 `json:"cs"`
			CE     float64 `json:"ce"`
			Req    float64 `json:"req"`
			End    float64 `json:"end"`
			Proto  string  `json:"proto"`
		} `json:"objects"`
	}
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return Page{}, fmt.Errorf("browser: the page's timings: %w", err)
	}
	ms := func(v float64) time.Duration {
		if v < 0 {
			return 0
		}
		return time.Duration(v * float64(time.Millisecond))
	}
	p := Page{Load: ms(raw.Load)}
	var busy []span
	for _, o := range raw.Objects {
		obj := Object{URL: o.URL, Status: o.Status, Err: o.Err, Start: ms(o.Start), RequestStart: ms(o.Req), End: ms(o.End),
			ConnectStart: ms(o.CS), ConnectEnd: ms(o.CE), Protocol: o.Proto}
		if obj.Status == 0 {
			obj.RequestStart, obj.End = 0, 0
		} else {
			if len(busy) == 0 || obj.RequestStart < p.FirstRequest {
				p.FirstRequest = obj.RequestStart
			}
			busy = append(busy, span{obj.RequestStart, obj.End})
			p.Total = max(p.Total, obj.End)
		}
		p.Objects = append(p.Objects, obj)
	}
	p.Network = union(busy)
	return p, nil
}

// span is an interval of a page's time.
type span struct{ from, to time.Duration }

// union is how long at least one of spans covers.
func union(spans []span) time.Duration {
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.from, b.from) })
	var total, end time.Duration
	for i, s := range spans {
		if i == 0 || s.from > end {
			total += max(s.to-s.from, 0)
			end = s.to
		} else if s.to > end {
			total += s.to - end
			end = s.to
		}
	}
	return total
}
