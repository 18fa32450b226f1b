// Package browser drives a real headless Chromium (Debian's, through
// chromedp) as a contender: it loads a page's objects from one origin and
// reads the browser's own timings of them (Resource Timing) after they have
// arrived, so that measuring streams no DevTools events during the load.
package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

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
	b := &Browser{cancel: func() { cancelT(); cancelA() }, tab: tab, dir: dir}
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
// root in a container), no GPU, and nothing of its own on the network
// (component updates, background networking, sync).
func Flags(execPath, dir string) []chromedp.ExecAllocatorOption {
	return append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(execPath), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.UserDataDir(dir), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-sync", true))
}

// Close ends the browser and removes its profile.
func (b *Browser) Close() {
	b.cancel()
	os.RemoveAll(b.dir)
}

// Open navigates the tab to url, the page whose origin the objects come
// from; its own load opens the first connection.
func (b *Browser) Open(ctx context.Context, url string) error {
	ctx, cancel := within(ctx, b.tab)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		return fmt.Errorf("browser: opening %s: %w", url, err)
	}
	return nil
}

// within is the tab's context, ended with ctx too.
func within(ctx, tab context.Context) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancel(tab)
	stop := context.AfterFunc(ctx, cancel)
	return c, func() { stop(); cancel() }
}

// Object is one object of a page as the browser timed it, from the page's
// start.
type Object struct {
	URL string
	// Status is the HTTP status; 0 if the fetch failed (Err says why).
	Status int
	Err    string
	// Start is when the browser began the fetch, RequestStart when it sent
	// the request (a connection or stream was free), End the last byte.
	Start, RequestStart, End time.Duration
	// Protocol is what it came over: "http/1.1", "h2", "h3".
	Protocol string
}

// Page is one load of a page's objects.
type Page struct {
	Objects []Object
	// Total is from the start to the last object's last byte.
	Total time.Duration
}

// loadScript fetches every URL at once from the open page, then reads the
// browser's Resource Timing of each: nothing is observed during the load.
const loadScript = `(async (urls) => {
  performance.setResourceTimingBufferSize(100000);
  performance.clearResourceTimings();
  const t0 = performance.now();
  const got = await Promise.all(urls.map(u => fetch(u, {cache: 'no-store'}).then(
    async r => { await r.arrayBuffer(); return {status: r.status}; },
    e => ({status: 0, err: String(e)}))));
  const total = performance.now() - t0;
  const byName = {};
  for (const e of performance.getEntriesByType('resource')) byName[e.name] = e;
  return JSON.stringify({total, objects: urls.map((u, i) => {
    const e = byName[new URL(u, location.href).href];
    return Object.assign({url: u}, got[i], e ? {start: e.startTime - t0, req: e.requestStart - t0, end: e.responseEnd - t0, proto: e.nextHopProtocol} : {});
  })});
})`

// Load fetches urls (paths or URLs of the open page's origin) all at once,
// as a page that discovers every object at once, and returns the
// browser's timings.
func (b *Browser) Load(ctx context.Context, urls []string) (Page, error) {
	ctx, cancel := within(ctx, b.tab)
	defer cancel()
	arg, err := json.Marshal(urls)
	if err != nil {
		return Page{}, err
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](loadScript+"("+string(arg)+")",
		func(p *runtime.EvaluateParams) { p.AwaitPromise = new(true) }))
	if err != nil {
		return Page{}, fmt.Errorf("browser: loading the page's objects: %w", err)
	}
	return parsePage(out)
}

// parsePage reads what loadScript returned.
func parsePage(text string) (Page, error) {
	var raw struct {
		Total   float64 `json:"total"`
		Objects []struct {
			URL    string   `json:"url"`
			Status int      `json:"status"`
			Err    string   `json:"err"`
			Start  *float64 `json:"start"`
			Req    *float64 `json:"req"`
			End    *float64 `json:"end"`
			Proto  string   `json:"proto"`
		} `json:"objects"`
	}
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return Page{}, fmt.Errorf("browser: the page's timings: %w", err)
	}
	ms := func(v *float64) time.Duration {
		if v == nil || *v < 0 {
			return 0
		}
		return time.Duration(*v * float64(time.Millisecond))
	}
	p := Page{Total: ms(&raw.Total)}
	for _, o := range raw.Objects {
		obj := Object{URL: o.URL, Status: o.Status, Err: o.Err, Start: ms(o.Start), RequestStart: ms(o.Req), End: ms(o.End), Protocol: o.Proto}
		if obj.Status != 0 && o.End == nil {
			obj.End = p.Total // no Resource Timing entry: the last moment known
		}
		p.Objects = append(p.Objects, obj)
	}
	return p, nil
}
