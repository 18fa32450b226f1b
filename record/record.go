// Package record records a page as a real browser loads it: headless
// Chromium (Debian's, through chromedp) opens the URL, and every response
// it gets (status, headers, body, the server's time to first byte) is
// written as a HAR 1.2 file that pageset reads and muxlab serve --har
// replays.
package record

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"muxlab/browser"
)

// Defaults of Options.
const (
	DefaultExecPath = "/usr/bin/chromium"
	DefaultSettle   = time.Second
	DefaultTimeout  = time.Minute
)

// Options configures a recording. Zero fields take the defaults.
type Options struct {
	// ExecPath is the browser (DefaultExecPath).
	ExecPath string
	// IgnoreCertErrors accepts certificates that do not verify.
	IgnoreCertErrors bool
	// Settle is how long to wait after the load event for late requests
	// (DefaultSettle, 1s); Timeout bounds the whole recording (1m).
	Settle, Timeout time.Duration
	// Version is muxlab's, for the HAR's creator.
	Version string
}

// ErrNoBrowser is returned when the browser is not installed.
var ErrNoBrowser = errors.New("record: Chromium is not installed (apt-get install chromium)")

type entry struct {
	id      network.RequestID
	method  string
	url     string
	started time.Time
	status  int64
	proto   string
	mime    string
	headers map[string]string
	waitMS  float64
	done    bool
	body    []byte
}

// Page loads url in a fresh headless browser and returns the HAR of what it
// fetched, in the order the requests started.
func Page(ctx context.Context, url string, o Options) ([]byte, error) {
	if o.ExecPath == "" {
		o.ExecPath = DefaultExecPath
	}
	if o.Settle == 0 {
		o.Settle = DefaultSettle
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if _, err := os.Stat(o.ExecPath); err != nil {
		return nil, ErrNoBrowser
	}
	dir, err := os.MkdirTemp("", "muxlab-record-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	flags := browser.Flags(o.ExecPath, dir)
	if o.IgnoreCertErrors {
		flags = append(flags, chromedp.IgnoreCertErrors)
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	actx, cancelA := chromedp.NewExecAllocator(ctx, flags...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()

	var mu sync.Mutex
	byID := map[network.RequestID]*entry{}
	var order []*entry
	err = chromedp.Listen(bctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			if !strings.HasPrefix(e.Request.URL, "http") {
				return
			}
			en := &entry{id: e.RequestID, method: e.Request.Method, url: e.Request.URL, started: time.Now()}
			if old := byID[e.RequestID]; old != nil { // a redirect: the new request replaces it
				*old = *en
				return
			}
			byID[e.RequestID] = en
			order = append(order, en)
		case *network.EventResponseReceived:
			if en := byID[e.RequestID]; en != nil && e.Response != nil {
				en.status, en.proto, en.mime = e.Response.Status, e.Response.Protocol, e.Response.MimeType
				en.headers = map[string]string{}
				for k, v := range e.Response.Headers {
					en.headers[k] = fmt.Sprint(v)
				}
				if t := e.Response.Timing; t != nil && t.ReceiveHeadersEnd > t.SendEnd {
					en.waitMS = t.ReceiveHeadersEnd - t.SendEnd
				}
			}
		case *network.EventLoadingFinished:
			if en := byID[e.RequestID]; en != nil {
				en.done = true
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(url)); err != nil {
		return nil, fmt.Errorf("record: loading %s: %w", url, err)
	}
	select {
	case <-time.After(o.Settle):
	case <-ctx.Done():
		return nil, fmt.Errorf("record: %s: %w", url, ctx.Err())
	}
	mu.Lock()
	entries := append([]*entry(nil), order...)
	mu.Unlock()
	for _, en := range entries {
		if !en.done || en.status == 0 {
			continue
		}
		if res, err := chromedp.Call(bctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: en.id}); err == nil {
			en.body = res.Body
		}
	}
	return harOf(entries, o.Version)
}

// harOf writes the finished entries as HAR 1.2.
func harOf(entries []*entry, version string) ([]byte, error) {
	type nv struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	type content struct {
		Size     int64  `json:"size"`
		MimeType string `json:"mimeType"`
		Text     string `json:"text,omitempty"`
		Encoding string `json:"encoding,omitempty"`
	}
	var out []map[string]any
	for _, en := range entries {
		if !en.done || en.status == 0 {
			continue
		}
		var hs []nv
		for k, v := range en.headers {
			hs = append(hs, nv{k, v})
		}
		sort.Slice(hs, func(i, j int) bool { return hs[i].Name < hs[j].Name })
		c := content{Size: int64(len(en.body)), MimeType: en.mime}
		if en.body != nil {
			c.Text, c.Encoding = base64.StdEncoding.EncodeToString(en.body), "base64"
		}
		out = append(out, map[string]any{
			"startedDateTime": en.started.UTC().Format(time.RFC3339Nano),
			"time":            en.waitMS,
			"request": map[string]any{"method": en.method, "url": en.url, "httpVersion": en.proto,
				"headers": []nv{}, "queryString": []nv{}, "cookies": []nv{}, "headersSize": -1, "bodySize": 0},
			"response": map[string]any{"status": en.status, "statusText": "", "httpVersion": en.proto, "headers": hs,
				"cookies": []nv{}, "content": c, "redirectURL": "", "headersSize": -1, "bodySize": c.Size},
			"cache":   map[string]any{},
			"timings": map[string]any{"send": 0, "wait": en.waitMS, "receive": 0},
		})
	}
	if len(out) == 0 {
		return nil, errors.New("record: the browser finished no request")
	}
	return json.MarshalIndent(map[string]any{"log": map[string]any{
		"version": "1.2", "creator": map[string]string{"name": "muxlab", "version": version}, "entries": out,
	}}, "", "  ")
}
