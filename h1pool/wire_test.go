package h1pool

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
)

// wire returns what writeRequest writes for req and what Request.Write
// writes.
func wire(t testing.TB, req *http.Request) (got, want string) {
	var a, b bytes.Buffer
	wa, wb := bufio.NewWriter(&a), bufio.NewWriter(&b)
	errA, errB := writeRequest(wa, req), req.Write(wb)
	wa.Flush()
	wb.Flush()
	if (errA == nil) != (errB == nil) {
		t.Fatalf("writeRequest error %v, Request.Write error %v", errA, errB)
	}
	return a.String(), b.String()
}

// TestWriteRequestMatchesNetHTTP: every request goes on the wire as
// net/http's Request.Write would write it, whether by the plain path or not.
func TestWriteRequestMatchesNetHTTP(t *testing.T) {
	t.Parallel()
	type mod func(*http.Request)
	hdr := func(k string, vs ...string) mod { return func(r *http.Request) { r.Header[k] = vs } }
	for _, tc := range []struct {
		name  string
		url   string
		mods  []mod
		plain bool // expected to take the plain path
	}{
		{"bare GET", "http://127.0.0.1:8080/hello", nil, true},
		{"query", "http://h/echo?size=10&delay=1ms", nil, true},
		{"empty path", "http://h", nil, true},
		{"escaped path", "http://h/a%20b/%2F?x", nil, true},
		{"headers sorted", "http://h/", []mod{hdr("X-B", "2"), hdr("Accept", "*/*"), hdr("X-A", "1", "one")}, true},
		{"own user agent", "http://h/", []mod{hdr("User-Agent", "muxlab/1")}, true},
		{"empty user agent", "http://h/", []mod{hdr("User-Agent", "")}, true},
		{"no user agent values", "http://h/", []mod{hdr("User-Agent")}, true},
		{"empty value", "http://h/", []mod{hdr("X-Empty", "")}, true},
		{"excluded headers", "http://h/", []mod{hdr("Content-Length", "5"), hdr("Trailer", "x"), hdr("Transfer-Encoding", "gzip"), hdr("Host", "other")}, true},
		{"Host field", "http://h/", []mod{func(r *http.Request) { r.Host = "example.com:443" }}, true},
		{"HEAD", "http://h/x", []mod{func(r *http.Request) { r.Method = http.MethodHead }}, true},
		{"empty method", "http://h/x", []mod{func(r *http.Request) { r.Method = "" }}, true},
		{"value to trim", "http://h/", []mod{hdr("X-Pad", " v ")}, false},
		{"value with newline", "http://h/", []mod{hdr("X-Bad", "a\r\nX-Smuggled: 1")}, false},
		{"user agent to trim", "http://h/", []mod{hdr("User-Agent", "ua\t")}, false},
		{"invalid key", "http://h/", []mod{hdr("Bad Key", "v")}, false},
		{"POST", "http://h/", []mod{func(r *http.Request) { r.Method = http.MethodPost }}, false},
		{"body", "http://h/", []mod{func(r *http.Request) {
			r.Method, r.Body, r.ContentLength = http.MethodPut, http.NoBody, 0
			r.Body = readCloser{strings.NewReader("abc")}
			r.ContentLength = 3
		}}, false},
		{"close", "http://h/", []mod{func(r *http.Request) { r.Close = true }}, false},
		{"non-ASCII host", "http://h/", []mod{func(r *http.Request) { r.Host = "bücher.example" }}, false},
		{"invalid host", "http://h/", []mod{func(r *http.Request) { r.Host = "a b" }}, false},
		{"zone", "http://[fe80::1%25eth0]:80/", nil, false},
		{"control byte in path", "http://h/", []mod{func(r *http.Request) { r.URL.Path = "/a\x01b" }}, true}, // escaped
		{"control byte in query", "http://h/", []mod{func(r *http.Request) { r.URL.RawQuery = "a=\x01" }}, false},
		{"opaque", "http://h/", []mod{func(r *http.Request) { r.URL.Opaque = "//h/raw" }}, false},
		{"trace", "http://h/", []mod{func(r *http.Request) {
			*r = *r.WithContext(httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{}))
		}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(http.MethodGet, tc.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range tc.mods {
				m(req)
			}
			var keys [maxPlainHeaders]string
			if _, _, _, _, ok := plain(req, &keys); ok != tc.plain {
				t.Errorf("plain path %v, want %v", ok, tc.plain)
			}
			if req.Body != nil && req.Body != http.NoBody { // both writers consume a body: compare heads only
				return
			}
			if got, want := wire(t, req); got != want {
				t.Errorf("wrote\n%q\nwant (Request.Write)\n%q", got, want)
			}
		})
	}
}

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }

// FuzzWriteRequest: for any method, target, host and header, writeRequest
// writes what Request.Write writes.
func FuzzWriteRequest(f *testing.F) {
	f.Add("GET", "/hello", "127.0.0.1:8080", "X-A", "1", "User-Agent", "muxlab")
	f.Add("HEAD", "/a?b=c", "h", "Accept", " */* ", "X-B", "")
	f.Add("", "/", "", "Bad Key", "v", "X", "a\nb")
	f.Fuzz(func(t *testing.T, method, target, host, k1, v1, k2, v2 string) {
		req, err := http.NewRequest(http.MethodGet, "http://127.0.0.1"+target, nil)
		if err != nil {
			return
		}
		req.Method, req.Host = method, host
		req.Header[k1] = []string{v1}
		req.Header[k2] = append(req.Header[k2], v2)
		if method != "" && method != http.MethodGet && method != http.MethodHead {
			return // any other method can take no plain path and would be written by Request.Write itself
		}
		if got, want := wire(t, req); got != want {
			t.Errorf("wrote\n%q\nwant (Request.Write)\n%q", got, want)
		}
	})
}
