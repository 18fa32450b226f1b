package h2client

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2/hpack"
)

// checkRequest refuses what cannot be sent, before anything is: once a
// field is in the hpack encoder's table, the server's decoder must see it.
func checkRequest(req *http.Request) (host string, err error) {
	host = req.Host
	if host == "" {
		host = req.URL.Host
	}
	host, err = httpguts.PunycodeHostPort(host)
	if err != nil || !httpguts.ValidHostHeader(host) {
		return "", fmt.Errorf("h2client: invalid Host %q", host)
	}
	if req.Method != "" && !httpguts.ValidHeaderFieldName(req.Method) {
		return "", fmt.Errorf("h2client: invalid method %q", req.Method)
	}
	for k, vv := range req.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return "", fmt.Errorf("h2client: invalid header field name %q", k)
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return "", fmt.Errorf("h2client: invalid value for header field %q", k)
			}
			if strings.EqualFold(k, "te") && v != "trailers" {
				return "", fmt.Errorf("h2client: invalid TE header %q: only \"trailers\" is allowed", v)
			}
		}
	}
	if req.Trailer != nil {
		return "", errors.New("h2client: request trailers are not supported")
	}
	return host, nil
}

// encodeHeaders encodes req's header block into w.hbuf as x/net does: the
// pseudo-headers, the fields lower-cased (connection-specific ones left
// out), a User-Agent if none is set, and the Content-Length of a body. The
// request was checked by checkRequest.
func (w *wire) encodeHeaders(req *http.Request, host string) {
	path := req.URL.RequestURI()
	if req.URL.Opaque != "" {
		path = req.URL.Opaque
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	w.fields = w.fields[:0]
	field := func(name, value string) { w.fields = append(w.fields, hpack.HeaderField{Name: name, Value: value}) }
	field(":authority", host)
	field(":method", method)
	field(":path", path)
	field(":scheme", w.scheme)
	didUA := false
	// In the order of their names, so that a request sent again has the
	// same header block (see encodeFields); their order means nothing.
	w.keys = w.keys[:0]
	for k := range req.Header {
		w.keys = append(w.keys, k)
	}
	slices.Sort(w.keys)
	for _, k := range w.keys {
		vv := req.Header[k]
		lk := w.lowerCase(k)
		switch lk {
		case "host", "content-length", "connection", "proxy-connection", "transfer-encoding", "upgrade", "keep-alive":
			continue // connection-specific, or sent otherwise
		case "user-agent":
			didUA = true
			if len(vv) < 1 || vv[0] == "" {
				continue
			}
			vv = vv[:1]
		}
		for _, v := range vv {
			if lk == "cookie" { // one field per cookie, for the header table
				for c := range strings.SplitSeq(v, "; ") {
					field(lk, c)
				}
				continue
			}
			field(lk, v)
		}
	}
	if !didUA {
		field("user-agent", defaultUserAgent)
	}
	if n := contentLength(req); n > 0 ||
		(n == 0 && (method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch)) {
		field("content-length", strconv.FormatInt(n, 10))
	}
	w.encodeFields()
}

// encodeFields encodes w.fields into w.hbuf.
//
// A load generator sends the same request again and again, and after the
// first time every one of its fields is in the hpack table: the block is
// then all indexed representations, which leave the table as it was, so it
// is the same bytes each time. Those bytes are kept and reused while the
// fields are the same and no other block changed the table, which saves
// hpack's table search for every field (pprof: 3% of the h2 contender's
// CPU). A block is all indexed exactly when every byte has its high bit
// set: every other representation starts with a byte that has it clear.
func (w *wire) encodeFields() {
	if w.cached && slices.Equal(w.fields, w.cacheFields) {
		w.hbuf.Write(w.cacheBlock)
		return
	}
	for _, f := range w.fields {
		w.henc.WriteField(f)
	}
	block := w.hbuf.Bytes()
	w.cached = !slices.ContainsFunc(block, func(b byte) bool { return b&0x80 == 0 })
	if w.cached {
		w.cacheFields = append(w.cacheFields[:0], w.fields...)
		w.cacheBlock = append(w.cacheBlock[:0], block...)
	}
}

// contentLength is the body's length: 0 without a body, -1 when unknown.
func contentLength(req *http.Request) int64 {
	if req.Body == nil || req.Body == http.NoBody {
		return 0
	}
	if req.ContentLength != 0 {
		return req.ContentLength
	}
	return -1
}

// lowerCase returns k in lower case, remembering the answer (under wmu).
func (w *wire) lowerCase(k string) string { return memo(w.lower, k, strings.ToLower) }

// memo returns f(k), remembered in m, which holds at most 1,000 answers (a
// server's or a caller's field names are few; anything beyond is not kept).
func memo(m map[string]string, k string, f func(string) string) string {
	if v, ok := m[k]; ok {
		return v
	}
	v := f(k)
	if len(m) < 1000 {
		m[k] = v
	}
	return v
}
