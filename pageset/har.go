package pageset

import (
	"encoding/base64"
	"encoding/json"
	"errors"
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

func (e *EntryError) Error() string { return "pageset: " + e.Problem() }

// Problem says what is wrong, without the package's name.
func (e *EntryError) Problem() string {
	return fmt.Sprintf("entry %d: %s: %s", e.Index, e.Field, e.Reason)
}

// harEntry is the part of a HAR 1.2 entry a replay needs.
type harEntry struct {
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
}

// keptHeaders are the response headers a replay gives back.
var keptHeaders = map[string]bool{"content-type": true, "cache-control": true, "vary": true, "etag": true, "last-modified": true}

// errTooBig is what the HAR's reader says past MaxHARBytes.
var errTooBig = &FileError{Reason: fmt.Sprintf("the HAR is larger than %d MiB", MaxHARBytes>>20)}

// boundedReader reads at most n bytes and then fails with errTooBig.
type boundedReader struct {
	r io.Reader
	n int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, errTooBig
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	return n, err
}

// ParseHAR reads a HAR (DevTools' "Save all as HAR"), refusing one beyond
// the bounds or with an entry that cannot be replayed, naming the entry and
// the field. It reads the file as a stream, an entry at a time: one beyond
// MaxEntries is refused when it is reached, with what came before it and
// nothing after it held.
func ParseHAR(r io.Reader) (*Page, error) {
	dec := json.NewDecoder(&boundedReader{r: r, n: MaxHARBytes})
	p := &Page{}
	var total int64
	sawLog := false
	err := object(dec, func(key string) error {
		if key != "log" {
			return skip(dec)
		}
		sawLog = true
		return object(dec, func(key string) error {
			if key != "entries" {
				return skip(dec)
			}
			if err := delim(dec, '['); err != nil {
				return err
			}
			for i := 0; dec.More(); i++ {
				if i == MaxEntries {
					return &FileError{Reason: fmt.Sprintf("the HAR has more than %d entries", MaxEntries)}
				}
				var e harEntry
				if err := dec.Decode(&e); err != nil {
					return err
				}
				ent, err := checkEntry(i, &e)
				if err != nil {
					return err
				}
				if total += ent.Size; total > MaxTotalBytes {
					return &EntryError{i, "response.content.size", fmt.Sprintf("the responses add up to more than %d MiB", MaxTotalBytes>>20)}
				}
				p.Entries = append(p.Entries, ent)
			}
			return delim(dec, ']')
		})
	})
	var ee *EntryError
	var fe *FileError
	switch {
	case errors.Is(err, errTooBig):
		return nil, errTooBig
	case errors.As(err, &ee), errors.As(err, &fe):
		return nil, err
	case err != nil:
		return nil, &FileError{Reason: "not a HAR", Err: err}
	case !sawLog:
		return nil, &FileError{Reason: "not a HAR: no \"log\""}
	case len(p.Entries) == 0:
		return nil, &FileError{Reason: fmt.Sprintf("the HAR has 0 entries; allowed 1 to %d", MaxEntries)}
	}
	return p, nil
}

// object reads a JSON object, calling field for each key with the decoder
// at its value, which field must read.
func object(dec *json.Decoder, field func(key string) error) error {
	if err := delim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := t.(string)
		if err := field(key); err != nil {
			return err
		}
	}
	return delim(dec, '}')
}

// delim reads the delimiter want.
func delim(dec *json.Decoder, want json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return fmt.Errorf("found %v where %q was expected", t, want)
	}
	return nil
}

// skip reads one value token by token, holding none of it.
func skip(dec *json.Decoder) error {
	depth := 0
	for {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// checkEntry checks entry i and makes it an Entry.
func checkEntry(i int, e *harEntry) (Entry, error) {
	fail := func(field, format string, args ...any) error {
		return &EntryError{i, field, fmt.Sprintf(format, args...)}
	}
	if e.Request == nil {
		return Entry{}, fail("request", "missing")
	}
	if e.Response == nil {
		return Entry{}, fail("response", "missing")
	}
	u, err := url.Parse(e.Request.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return Entry{}, fail("request.url", "%q is not an http or https URL", e.Request.URL)
	}
	u.Fragment, u.User = "", nil
	if u.Port() == "" {
		u.Host = joinPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	method := strings.ToUpper(e.Request.Method)
	if method != "GET" && method != "HEAD" {
		return Entry{}, fail("request.method", "%q: a replay sends GET and HEAD only (no recorded request bodies)", e.Request.Method)
	}
	st := e.Response.Status
	if st < 100 || st > 599 {
		return Entry{}, fail("response.status", "%d is not an HTTP status", st)
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
			return Entry{}, fail("response.content.text", "not base64: %v", err)
		}
	case c.Text != "" && c.Encoding == "":
		ent.Body = []byte(c.Text)
	case c.Text != "":
		return Entry{}, fail("response.content.encoding", "%q: only base64 or none", c.Encoding)
	}
	ent.Size = max(c.Size, 0) // -1: not known
	if ent.Body != nil {
		ent.Size = int64(len(ent.Body))
	}
	ent.Wait = waitOf(e.Timings.Wait)
	return ent, nil
}

// waitOf is a recorded wait in milliseconds as a Duration, capped at
// MaxEntryWait: compared before it is converted, for a float beyond
// int64's range converts to anything at all.
func waitOf(ms float64) time.Duration {
	switch {
	case !(ms > 0): // 0, negative (-1: not known), NaN
		return 0
	case ms >= float64(MaxEntryWait/time.Millisecond):
		return MaxEntryWait
	}
	return time.Duration(ms * float64(time.Millisecond))
}

func joinPort(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}
