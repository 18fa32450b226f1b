// Package browsertest starts headless Debian Chromium for tests, through
// chromedp, and collects what a page did that a test may forbid: console
// errors, uncaught exceptions, requests, and dialogs.
//
// Without /usr/bin/chromium a test fails when the CI environment variable
// is set and is skipped otherwise (make test installs it as root).
package browsertest

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Require fails the test when Chromium is missing and CI is set (make test
// installs it), and skips it elsewhere.
func Require(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(Path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing: make test installs Debian's chromium package for this test", Path)
		}
		t.Skipf("%s is missing (apt-get install chromium, or run make test as root); CI runs this test", Path)
	}
}

// Path is where Debian's chromium package installs the browser.
const Path = "/usr/bin/chromium"

// Options of a browser.
type Options struct {
	// IgnoreCertErrors accepts self-signed certificates.
	IgnoreCertErrors bool
	// Width and Height are the window's size in pixels (1200 x 900).
	Width, Height int
	// QUICOrigins are host:port origins the browser must reach over HTTP/3
	// (QUIC is off otherwise), trusting certificates whose public keys hash
	// to TrustSPKI (base64 SHA-256 of the SubjectPublicKeyInfo): Chromium
	// takes no other exception for QUIC.
	QUICOrigins []string
	TrustSPKI   []string
}

// Events is what the page did, collected as it happened.
type Events struct {
	mu       sync.Mutex // mu guards the following
	errors   []string
	requests []string
	dialogs  []string
}

// Errors returns console errors, uncaught exceptions and error log entries.
func (e *Events) Errors() []string { return e.get(&e.errors) }

// Requests returns every URL the page asked for.
func (e *Events) Requests() []string { return e.get(&e.requests) }

// Dialogs returns the messages of alert() and the like.
func (e *Events) Dialogs() []string { return e.get(&e.dialogs) }

func (e *Events) get(list *[]string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), *list...)
}

func (e *Events) add(list *[]string, s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	*list = append(*list, s)
}

// New starts a browser for t, closed when t ends, with a fresh profile and
// no background networking.
func New(t *testing.T, o Options) (context.Context, *Events) {
	t.Helper()
	Require(t)
	if o.Width == 0 {
		o.Width, o.Height = 1200, 900
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(o.Width, o.Height))
	if len(o.QUICOrigins) > 0 {
		opts = append(opts, chromedp.Flag("enable-quic", true),
			chromedp.Flag("origin-to-force-quic-on", strings.Join(o.QUICOrigins, ",")),
			chromedp.Flag("ignore-certificate-errors-spki-list", strings.Join(o.TrustSPKI, ",")))
	} else {
		opts = append(opts, chromedp.Flag("disable-quic", true))
	}
	if o.IgnoreCertErrors {
		opts = append(opts, chromedp.IgnoreCertErrors)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 120*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	ev := &Events{}
	err := chromedp.Listen(ctx, func(e any) {
		switch e := e.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				ev.add(&ev.errors, "console.error")
			}
		case *runtime.EventExceptionThrown:
			ev.add(&ev.errors, e.ExceptionDetails.Text)
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError {
				ev.add(&ev.errors, strings.TrimSpace(e.Entry.Text+" "+e.Entry.URL))
			}
		case *network.EventRequestWillBeSent:
			ev.add(&ev.requests, e.Request.URL)
		case *page.EventJavascriptDialogOpening:
			ev.add(&ev.dialogs, e.Message)
			go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	})
	if err != nil {
		t.Fatalf("starting %s: %v", Path, err)
	}
	return ctx, ev
}
