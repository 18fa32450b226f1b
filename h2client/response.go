package h2client

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/net/http2"

	"muxlab/roundtrip"
)

// onHeaders handles a response head (or an informational one) or trailers.
func (w *wire) onHeaders(f *http2.MetaHeadersFrame) error {
	w.mu.Lock()
	s := w.streams[f.StreamID]
	w.mu.Unlock()
	if s == nil {
		return nil // a stream we reset or forgot: the block was decoded, which is all it needs
	}
	if f.Truncated {
		w.reset(s.id, http2.ErrCodeCancel, w.tooLarge(s.id))
		return nil
	}
	if s.resp != nil { // only the reader goroutine sets resp
		if !f.StreamEnded() {
			w.reset(s.id, http2.ErrCodeProtocol, errors.New("h2client: the server sent a second header block that does not end the stream"))
			return nil
		}
		trailer := make(http.Header)
		for _, hf := range f.RegularFields() {
			k := w.canonical(hf.Name)
			trailer[k] = append(trailer[k], hf.Value)
		}
		w.mu.Lock()
		s.trailer = trailer
		w.endStreamLocked(s)
		w.mu.Unlock()
		return nil
	}
	status := f.PseudoValue("status")
	code, err := strconv.Atoi(status)
	if err != nil || len(status) != 3 {
		w.reset(s.id, http2.ErrCodeProtocol, fmt.Errorf("h2client: the server sent a malformed :status %q", status))
		return nil
	}
	if code >= 100 && code < 200 {
		if f.StreamEnded() {
			w.reset(s.id, http2.ErrCodeProtocol, errors.New("h2client: the server ended the stream with an informational response"))
		}
		return nil // 100 Continue, 103 Early Hints: the real response follows
	}
	fields := f.RegularFields()
	h := make(http.Header, len(fields))
	vals := s.valMem[:] // one array for the values of fields seen once
	if len(fields) > len(vals) {
		vals = make([]string, len(fields))
	}
	for i, hf := range fields {
		k := w.canonical(hf.Name)
		if vs, seen := h[k]; seen {
			h[k] = append(vs, hf.Value)
		} else {
			vals[i] = hf.Value
			h[k] = vals[i : i+1 : i+1]
		}
	}
	s.respMem = http.Response{Status: w.statusText(code), StatusCode: code, Proto: "HTTP/2.0",
		ProtoMajor: 2, Header: h, ContentLength: -1, Request: s.req, Body: s}
	resp := &s.respMem
	if cl := h["Content-Length"]; len(cl) == 1 {
		if n, err := strconv.ParseInt(cl[0], 10, 64); err == nil && n >= 0 {
			resp.ContentLength = n
		}
	} else if len(cl) == 0 && f.StreamEnded() && s.req.Method != http.MethodHead {
		resp.ContentLength = 0
	}
	for _, v := range h["Trailer"] {
		for key := range strings.SplitSeq(v, ",") {
			if key = strings.TrimSpace(key); key != "" {
				if resp.Trailer == nil {
					resp.Trailer = http.Header{}
				}
				resp.Trailer[http.CanonicalHeaderKey(key)] = nil
			}
		}
	}
	bodyLeft := int64(-1)
	if resp.ContentLength > 0 && s.req.Method != http.MethodHead && code != http.StatusNoContent && code != http.StatusNotModified {
		bodyLeft = resp.ContentLength
	}
	if f.StreamEnded() && bodyLeft < 0 {
		resp.Body = http.NoBody
	}
	w.mu.Lock()
	s.resp = resp
	s.bodyLeft = bodyLeft
	if f.StreamEnded() {
		w.endBodyLocked(s)
		w.endStreamLocked(s)
	}
	s.signalLocked()
	w.mu.Unlock()
	return nil
}

// canonical returns a field name in canonical form, remembering the answer
// (read loop only).
func (w *wire) canonical(name string) string { return memo(w.canon, name, http.CanonicalHeaderKey) }

// statusText returns a response's Status, "200 OK", remembering it (read
// loop only).
func (w *wire) statusText(code int) string {
	if st, ok := w.status[code]; ok {
		return st
	}
	st := strconv.Itoa(code) + " " + http.StatusText(code)
	w.status[code] = st // at most 900 codes
	return st
}

// endStreamLocked records the server's END_STREAM on s.
func (w *wire) endStreamLocked(s *stream) {
	s.recvEnd = true
	s.signalLocked()
	if s.sentEnd {
		w.forgetLocked(s)
	}
}

// endBodyLocked checks, at the server's END_STREAM, that the body was as
// long as declared: a shorter one ends the body with a stream error after
// the bytes that came.
func (w *wire) endBodyLocked(s *stream) {
	if s.bodyLeft > 0 && s.err == nil {
		s.err = http2.StreamError{StreamID: s.id, Code: http2.ErrCodeProtocol,
			Cause: fmt.Errorf("h2client: the server ended the body %d bytes short of its Content-Length of %d", s.bodyLeft, s.resp.ContentLength)}
	}
}

// onData queues a DATA frame's bytes for the stream's reader.
func (w *wire) onData(f *http2.DataFrame) error {
	n := int32(f.Length) // padding counts against the windows too
	var inc int32        // connection window to give back now
	var bad error        // a stream error to reset the stream with, of code
	code := http2.ErrCodeProtocol
	w.mu.Lock()
	if !w.recv.take(n) {
		w.mu.Unlock()
		return errors.New("h2client: the server overflowed the connection's flow-control window")
	}
	s := w.streams[f.StreamID]
	switch {
	case s == nil || s.recvEnd || s.closedBody || s.reset:
		// A stream we reset or forgot: its bytes still count against the
		// connection, and are given back.
		inc = w.recv.give(n)
	case s.resp == nil:
		inc = w.recv.give(n)
		bad = errors.New("h2client: the server sent DATA before the response head")
	case !s.recv.take(n):
		inc = w.recv.give(n)
		bad, code = errors.New("h2client: the server overflowed a stream's flow-control window"), http2.ErrCodeFlowControl
	case s.bodyLeft >= 0 && int64(len(f.Data())) > s.bodyLeft:
		inc = w.recv.give(n)
		bad = http2.StreamError{StreamID: s.id, Code: http2.ErrCodeProtocol,
			Cause: fmt.Errorf("h2client: the server sent more body than its Content-Length of %d", s.resp.ContentLength)}
	default:
		if s.bodyLeft >= 0 {
			s.bodyLeft -= int64(len(f.Data()))
		}
		if data := f.Data(); len(data) > 0 {
			if s.buf == nil && len(data) <= len(s.bufMem) {
				s.buf = s.bufMem[:0]
			}
			s.buf = append(s.buf, data...)
		}
		if pad := n - int32(len(f.Data())); pad > 0 { // padding is consumed as it arrives
			inc = w.recv.give(pad)
			s.recv.give(pad) // the stream's is given back with its data
		}
		if f.StreamEnded() {
			w.endBodyLocked(s)
			w.endStreamLocked(s)
		}
		s.signalLocked()
	}
	w.mu.Unlock()
	if bad != nil {
		w.reset(s.id, code, bad)
	}
	if inc > 0 {
		return w.write(func() error { return w.fr.WriteWindowUpdate(0, uint32(inc)) })
	}
	return nil
}

// tooLarge is the error of stream id, whose header block went past the
// client's bound.
func (w *wire) tooLarge(id uint32) error {
	return fmt.Errorf("h2client: the header block of stream %d is larger than %d bytes: %w", id, w.maxHeader, roundtrip.ErrResponseTooLarge)
}

// endStream ends stream id, if it is open, with err.
func (w *wire) endStream(id uint32, err error) {
	w.mu.Lock()
	s := w.streams[id]
	w.mu.Unlock()
	if s != nil {
		s.end(err)
	}
}
