package h1pool

import (
	"bufio"
	"net/http"
	"net/http/httptrace"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// defaultUserAgent is what net/http sends when a request sets none.
const defaultUserAgent = "Go-http-client/1.1"

// maxPlainHeaders is the most header fields a request may have for the
// plain path.
const maxPlainHeaders = 32

// writeRequest writes req's head (and body, if any) to bw exactly as
// net/http's Request.Write does.
//
// Request.Write formats through fmt, looks its header exclusions up in a map
// and sorts the header through a pooled sorter: about a tenth of a load
// generator's CPU per request (pprof). A request with no body, no trailer
// and nothing to clean up (a GET or HEAD whose host, target and header
// values net/http would send as they are) is written here directly, byte
// for byte what Request.Write writes (TestWriteRequestMatchesNetHTTP,
// FuzzWriteRequest); any other goes through Request.Write.
func writeRequest(bw *bufio.Writer, req *http.Request) error {
	var keys [maxPlainHeaders]string
	host, uri, ua, n, ok := plain(req, &keys)
	if !ok {
		return req.Write(bw)
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	bw.WriteString(method)
	bw.WriteByte(' ')
	bw.WriteString(uri)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(host)
	bw.WriteString("\r\n")
	if ua != "" {
		bw.WriteString("User-Agent: ")
		bw.WriteString(ua)
		bw.WriteString("\r\n")
	}
	for _, k := range keys[:n] {
		for _, v := range req.Header[k] {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	_, err := bw.WriteString("\r\n")
	return err
}

// plain reports whether req can take the plain path, and returns what it
// writes: the Host, the request target, the User-Agent (empty: none) and
// the other header keys, sorted, in keys[:n].
func plain(req *http.Request, keys *[maxPlainHeaders]string) (host, uri, ua string, n int, ok bool) {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead:
	default:
		return
	}
	if (req.Body != nil && req.Body != http.NoBody) || req.ContentLength != 0 || len(req.TransferEncoding) > 0 ||
		req.Trailer != nil || req.Close || req.URL == nil || req.URL.Opaque != "" {
		return
	}
	host = req.Host
	if host == "" {
		host = req.URL.Host
	}
	// net/http rewrites a non-ASCII host (Punycode), drops an invalid one
	// and strips an IPv6 zone; those go its way.
	if !ascii(host) || !httpguts.ValidHostHeader(host) || strings.IndexByte(host, '%') >= 0 {
		return
	}
	uri = req.URL.RequestURI()
	if !clean(uri) {
		return
	}
	ua = defaultUserAgent
	if vs, has := req.Header["User-Agent"]; has {
		ua = ""
		if len(vs) > 0 {
			ua = vs[0]
		}
		if !asIs(ua) {
			return
		}
	}
	for k, vs := range req.Header {
		switch k {
		case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		}
		if n == maxPlainHeaders || !httpguts.ValidHeaderFieldName(k) {
			return
		}
		for _, v := range vs {
			if !asIs(v) {
				return
			}
		}
		// Insertion sort: a request has a handful of fields.
		i := n
		for i > 0 && keys[i-1] > k {
			keys[i] = keys[i-1]
			i--
		}
		keys[i] = k
		n++
	}
	// A trace in the context expects its hooks called, as Request.Write does.
	if httptrace.ContextClientTrace(req.Context()) != nil {
		return
	}
	return host, uri, ua, n, true
}

// asIs reports whether net/http would write header value v unchanged: no
// line breaks to turn into spaces, no blanks at either end to trim.
func asIs(v string) bool {
	if v == "" {
		return true
	}
	if blank(v[0]) || blank(v[len(v)-1]) {
		return false
	}
	return strings.IndexByte(v, '\n') < 0 && strings.IndexByte(v, '\r') < 0
}

func blank(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// clean reports whether s has no control byte, which Request.Write refuses
// in a request target.
func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			return false
		}
	}
	return true
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
