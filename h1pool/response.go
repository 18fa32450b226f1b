package h1pool

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
)

// readResponse reads a response head from br, leaving the body for the
// caller, exactly as http.ReadResponse does.
//
// http.ReadResponse goes through net/textproto, a reader made per response,
// and a string and a canonicalisation per header line: the largest share of
// a load generator's own CPU per request after the system calls (pprof). A
// head that is already in the buffer and plain (HTTP/1.1, a final status
// with a body of a declared Content-Length, canonical field names, nothing
// net/http would rewrite or refuse) is parsed here, in one pass and one
// string; any other goes to http.ReadResponse, which still finds every byte
// in br. TestReadResponseMatchesNetHTTP and FuzzReadResponse hold the two to
// the same result.
//
// fb, if not nil, is where a plain response's body reader goes (it saves an
// allocation per request).
func readResponse(br *bufio.Reader, req *http.Request, fb *fixedBody) (*http.Response, error) {
	if _, err := br.Peek(1); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // what http.ReadResponse says of a connection closed before the status line
		}
		return nil, err
	}
	buf, _ := br.Peek(br.Buffered())
	if resp, n := plainResponse(buf, req); resp != nil {
		br.Discard(n)
		resp.Body = http.NoBody
		if resp.ContentLength > 0 {
			if fb == nil {
				fb = new(fixedBody)
			}
			fb.br, fb.left = br, resp.ContentLength
			resp.Body = fb
		}
		return resp, nil
	}
	return http.ReadResponse(br, req)
}

// plainResponse parses a plain response head at the start of buf and
// returns the response (without its Body) and the head's length; nil if the
// head is not whole in buf or is not plain.
func plainResponse(buf []byte, req *http.Request) (*http.Response, int) {
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	if end < 0 || (req.Method != "" && req.Method != http.MethodGet) {
		return nil, 0
	}
	head := string(buf[:end+2]) // every string of the response is a slice of this one
	line, rest, _ := cut(head)
	const proto = "HTTP/1.1 "
	if len(line) < len(proto)+3 || line[:len(proto)] != proto {
		return nil, 0
	}
	status := line[len(proto):]
	code := 0
	for _, c := range []byte(status[:3]) {
		if c < '0' || c > '9' {
			return nil, 0
		}
		code = code*10 + int(c-'0')
	}
	if code < 200 || code == http.StatusNoContent || code == http.StatusNotModified ||
		(len(status) > 3 && status[3] != ' ') || !valueBytes(status) {
		return nil, 0
	}
	h := make(http.Header, len(plainAlloc{}.vals)) // a map this small is one allocation
	// One allocation for the response and the values of its fields: a
	// field seen once (nearly all) takes a one-value slice of vals; append
	// gives a repeated one its own, and more fields than vals has room for
	// get a slice of their own.
	pa := new(plainAlloc)
	vals := pa.vals[:]
	length := int64(-1)
	for rest != "" {
		line, rest, _ = cut(rest)
		colon := indexColon(line)
		if colon <= 0 {
			return nil, 0
		}
		key, value := line[:colon], trim(line[colon+1:])
		if !canonical(key) || !valueBytes(value) {
			return nil, 0
		}
		switch key {
		case "Content-Length":
			n, ok := decimal(value)
			if !ok || length >= 0 {
				return nil, 0
			}
			length = n
		case "Transfer-Encoding", "Connection", "Trailer", "Pragma":
			return nil, 0 // framing, closing and rewrites: net/http's way
		}
		if vs, seen := h[key]; seen {
			h[key] = append(vs, value)
		} else if len(vals) > 0 {
			vals[0] = value
			h[key], vals = vals[:1:1], vals[1:]
		} else {
			h[key] = []string{value}
		}
	}
	if length < 0 {
		return nil, 0
	}
	pa.resp = http.Response{Status: status, StatusCode: code, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, ContentLength: length, Request: req}
	return &pa.resp, end + 4
}

// plainAlloc is a plain response and room for the values of its fields.
type plainAlloc struct {
	resp http.Response
	vals [8]string
}

// cut splits s at its first CRLF.
func cut(s string) (line, rest string, ok bool) {
	if i := strings.Index(s, "\r\n"); i >= 0 {
		return s[:i], s[i+2:], true
	}
	return s, "", false
}

func indexColon(s string) int { return strings.IndexByte(s, ':') }

// trim drops the blanks net/textproto drops around a value.
func trim(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// canonical reports whether k is a field name in net/textproto's canonical
// form: letters, digits and hyphens, each word capitalised.
func canonical(k string) bool {
	upper := true
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '-':
			upper = true
			continue
		case c >= '0' && c <= '9':
		case c >= 'A' && c <= 'Z':
			if !upper {
				return false
			}
		case c >= 'a' && c <= 'z':
			if upper {
				return false
			}
		default:
			return false
		}
		upper = false
	}
	return k != ""
}

// valueBytes reports whether net/textproto accepts every byte of a value:
// no control bytes but the tab.
func valueBytes(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// decimal parses a Content-Length: digits only, at most 18 of them.
func decimal(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

// fixedBody is a body of a declared length, read as net/http reads one: an
// early end of the connection is io.ErrUnexpectedEOF, and the last bytes come
// with io.EOF.
type fixedBody struct {
	mu     sync.Mutex // a body may be closed while it is read
	br     *bufio.Reader
	left   int64
	closed bool
}

func (b *fixedBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return 0, http.ErrBodyReadAfterClose
	case b.left == 0:
		return 0, io.EOF
	case len(p) == 0:
		return 0, nil
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.br.Read(p)
	b.left -= int64(n)
	switch {
	case b.left == 0:
		err = io.EOF
	case err == io.EOF:
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *fixedBody) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}
