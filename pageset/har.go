package pageset

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Bounds of a HAR.
const (
	MaxHARBytes   = 256 << 20 // the file
	MaxEntries    = 10000
	MaxTotalBytes = 1 << 30          // the responses' sizes added up
	MaxEntryWait  = 30 * time.Second // the demo server's own bound on a delay
)

// Entry is one object of a recorded page: the request, and what answered it.
type Entry struct {
	Method string
	URL    *url.URL
	Status int
	// Header holds the response headers that matter to a replay
	// (Content-Type, Cache-Control, Vary, ETag, Last-Modified), names in
	// canonical form; Content-Encoding is dropped: bodies are replayed
	// decoded.
	Header map[string]string
	// Size is the response body's size in bytes; Body its recorded content
	// when the HAR has it (else Size bytes are made up).
	Size int64
	Body []byte
	// Wait is the server's time to first byte as recorded.
	Wait time.Duration
}

// Page is a HAR's entries in the recorded order.
type Page struct {
	Entries []Entry
}

// Origins returns the page's origins, in the order they first appear.
func (p *Page) Origins() []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range p.Entries {
		o := e.URL.Scheme + "://" + e.URL.Host
		if !seen[o] {
			seen[o] = true
			out = append(out, o)
		}
	}
	return out
}

// EntryError says which entry of a HAR is wrong (0-based, as in the file's
// log.entries) and which field.
type EntryError struct {
	Index  int
	Field  string
	Reason string
}

func (e *EntryError) Error() string {
	return fmt.Sprintf("pageset: entry %d: %s: %s", e.Index, e.Field, e.Reason)
}

// harFile is the part of the HAR 1.2 format a replay needs.
type harFile struct {
	Log *struct {
		Entries []struct {
			Request *struct {
				Method string `json:"method"`
				URL    string `json:"url"`
			} `json:"request"`
			Response *struct {
				Status  int `json:"status"`
				Headers []struct {
					Name  string `json:"name"`
					Value string `json:"value"`
				} `json:"headers"`
				Content struct {
					Size     int64  `json:"size"`
					Text     string `json:"text"`
					Encoding string `json:"encoding"`
				} `json:"content"`
			} `json:"response"`
			Timings struct {
				Wait float64 `json:"wait"`
			} `json:"timings"`
		} `json:"entries"`
	} `json:"log"`
}

// keptHeaders are the response headers a replay gives back.
var keptHeaders = map[string]bool{"content-type": true, "cache-control": true, "vary": true, "etag": true, "last-modified": true}

// ParseHAR reads a HAR (DevTools' "Save all as HAR"), refusing one beyond
// the bounds or with an entry that cannot be replayed, naming the entry and
// the field.
func ParseHAR(r io.Reader) (*Page, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxHARBytes+1))
	if err != nil {
		return nil, fmt.Errorf("pageset: reading the HAR: %w", err)
	}
	if len(data) > MaxHARBytes {
		return nil, fmt.Errorf("pageset: the HAR is larger than %d MiB", MaxHARBytes>>20)
	}
	var f harFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("pageset: not a HAR: %w", err)
	}
	if f.Log == nil {
		return nil, fmt.Errorf("pageset: not a HAR: no \"log\"")
	}
	if n := len(f.Log.Entries); n == 0 || n > MaxEntries {
		return nil, fmt.Errorf("pageset: the HAR has %d entries; allowed 1 to %d", n, MaxEntries)
	}
	p := &Page{}
	var total int64
	for i, e := range f.Log.Entries {
		fail := func(field, format string, args ...any) error {
			return &EntryError{i, field, fmt.Sprintf(format, args...)}
		}
		if e.Request == nil {
			return nil, fail("request", "missing")
		}
		if e.Response == nil {
			return nil, fail("response", "missing")
		}
		u, err := url.Parse(e.Request.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
			return nil, fail("request.url", "%q is not an http or https URL", e.Request.URL)
		}
		u.Fragment, u.User = "", nil
		if u.Port() == "" {
			u.Host = joinPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
		}
		method := strings.ToUpper(e.Request.Method)
		if method != "GET" && method != "HEAD" {
			return nil, fail("request.method", "%q: a replay sends GET and HEAD only (no recorded request bodies)", e.Request.Method)
		}
		st := e.Response.Status
		if st < 100 || st > 599 {
			return nil, fail("response.status", "%d is not an HTTP status", st)
		}
		ent := Entry{Method: method, URL: u, Status: st, Header: map[string]string{}}
		for _, h := range e.Response.Headers {
			if keptHeaders[strings.ToLower(h.Name)] {
				ent.Header[http.CanonicalHeaderKey(h.Name)] = h.Value
			}
		}
		c := e.Response.Content
		switch {
		case c.Text != "" && c.Encoding == "base64":
			if ent.Body, err = base64.StdEncoding.DecodeString(c.Text); err != nil {
				return nil, fail("response.content.text", "not base64: %v", err)
			}
		case c.Text != "" && c.Encoding == "":
			ent.Body = []byte(c.Text)
		case c.Text != "":
			return nil, fail("response.content.encoding", "%q: only base64 or none", c.Encoding)
		}
		ent.Size = c.Size
		if ent.Body != nil {
			ent.Size = int64(len(ent.Body))
		}
		if ent.Size < 0 {
			ent.Size = 0 // -1: not known
		}
		if total += ent.Size; total > MaxTotalBytes {
			return nil, fail("response.content.size", "the responses add up to more than %d MiB", MaxTotalBytes>>20)
		}
		if w := e.Timings.Wait; w > 0 {
			ent.Wait = min(time.Duration(w*float64(time.Millisecond)), MaxEntryWait)
		}
		p.Entries = append(p.Entries, ent)
	}
	return p, nil
}

func joinPort(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}
