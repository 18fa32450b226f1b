package h2client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// errBodyClosed ends a stream whose response body the caller closed.
var errBodyClosed = errors.New("h2client: response body closed")

// stream is one request and its response. It is the response's Body.
type stream struct {
	w   *wire
	id  uint32
	ctx context.Context
	req *http.Request

	// Under w.mu:
	resp       *http.Response
	trailer    http.Header // the trailers, once they arrived
	buf        []byte      // received and not yet read
	recv       inflow
	sendWindow int32
	recvEnd    bool // the server's END_STREAM arrived
	reset      bool // the stream was reset or its connection ended
	// writing says the request body is still being sent: the stream counts
	// against the server's limit until it is done, even if reset (as in
	// x/net, whose stream lives until its body's Read returns).
	writing bool
	sentEnd bool  // our END_STREAM went out
	err     error // why the stream ended early; nil if it did not
	// readable gets a token when there is news for whoever waits on the
	// stream (waiting): the response head, body bytes, its end.
	readable chan struct{}
	waiting  bool

	// Room for the response, its field values and a small body, so that
	// a small response costs no allocation of its own.
	respMem    http.Response
	valMem     [6]string
	bufMem     [64]byte
	closedBody bool
}

// roundTrip sends req as a new stream and waits for the response head. sent
// is set to when the HEADERS were written.
func (w *wire) roundTrip(req *http.Request, sent *time.Time) (*http.Response, error) {
	ctx := req.Context()
	if req.URL == nil {
		return nil, errors.New("h2client: request has no URL")
	}
	if req.Method == http.MethodConnect {
		return nil, errors.New("h2client: CONNECT is not supported")
	}
	host, err := checkRequest(req)
	if err != nil {
		return nil, err
	}
	if err := w.reserve(ctx); err != nil {
		return nil, err
	}
	body := req.Body
	if body == http.NoBody {
		body = nil
	}
	s := &stream{w: w, ctx: ctx, req: req, readable: make(chan struct{}, 1),
		recv: inflow{avail: streamWindow}}
	if err := w.open(s, host, body == nil, sent); err != nil {
		if body != nil {
			body.Close()
		}
		return nil, err
	}
	if body != nil {
		go s.sendBody(body)
	}
	w.mu.Lock()
	for s.resp == nil && s.err == nil && !s.reset {
		s.waiting = true
		w.mu.Unlock()
		select {
		case <-s.readable:
		case <-ctx.Done():
			s.cancel()
			return nil, context.Cause(ctx)
		}
		w.mu.Lock()
	}
	resp, err := s.resp, s.err
	w.mu.Unlock()
	if resp == nil {
		if err == nil {
			err = errors.New("h2client: stream ended without a response")
		}
		return nil, err
	}
	return resp, nil
}

// reserve waits until the server's stream limit allows one more stream,
// first come first served, and reserves it.
func (w *wire) reserve(ctx context.Context) error {
	w.mu.Lock()
	if err := w.unusableLocked(); err != nil {
		w.mu.Unlock()
		return err
	}
	if len(w.waiters) == 0 && w.roomLocked() {
		w.reserved++
		w.mu.Unlock()
		return nil
	}
	wt := &waiter{ch: make(chan struct{})}
	w.waiters = append(w.waiters, wt)
	w.mu.Unlock()
	select {
	case <-wt.ch:
		if wt.ok {
			return nil
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.unusableLocked()
	case <-ctx.Done():
		w.mu.Lock()
		defer w.mu.Unlock()
		if wt.ok { // admitted as the context ended: give the stream back
			w.reserved--
			w.admitLocked()
		} else if i := indexOf(w.waiters, wt); i >= 0 {
			w.waiters = append(w.waiters[:i], w.waiters[i+1:]...)
		}
		return fmt.Errorf("h2client: waiting for the server's stream limit: %w", context.Cause(ctx))
	}
}

func indexOf(ws []*waiter, wt *waiter) int {
	for i, x := range ws {
		if x == wt {
			return i
		}
	}
	return -1
}

// unusableLocked says why no new stream may be opened, or nil.
func (w *wire) unusableLocked() error {
	switch {
	case w.closed:
		return w.err
	case w.goAway != nil:
		return *w.goAway
	}
	return nil
}

// open gives s its id and writes its HEADERS, with END_STREAM if it has no
// body. The reservation taken by reserve becomes the stream.
func (w *wire) open(s *stream, host string, endStream bool, sent *time.Time) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.mu.Lock()
	w.reserved--
	if err := w.unusableLocked(); err != nil {
		w.admitLocked()
		w.mu.Unlock()
		return err
	}
	s.id = w.nextID
	w.nextID += 2
	if w.nextID >= 1<<31-1 {
		w.spent.Store(true)
	}
	s.sendWindow = w.sendInitial
	s.sentEnd, s.writing = endStream, !endStream
	w.streams[s.id] = s
	maxFrame := w.maxFrame
	w.mu.Unlock()
	w.hbuf.Reset()
	w.encodeHeaders(s.req, host)
	block := w.hbuf.Bytes()
	first := block[:min(len(block), int(maxFrame))]
	err := w.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: s.id, BlockFragment: first, EndStream: endStream,
		EndHeaders: len(first) == len(block)})
	for block = block[len(first):]; err == nil && len(block) > 0; {
		n := min(len(block), int(maxFrame))
		err = w.fr.WriteContinuation(s.id, n == len(block), block[:n])
		block = block[n:]
	}
	*sent = time.Now()
	if err != nil {
		go w.fail(err) // not under wmu
		return fmt.Errorf("h2client: writing the request: %w", err)
	}
	return nil
}

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
func (w *wire) lowerCase(k string) string {
	if lk, ok := w.lower[k]; ok {
		return lk
	}
	lk := strings.ToLower(k)
	if len(w.lower) < 1000 {
		w.lower[k] = lk
	}
	return lk
}

// sendBody sends the request body as DATA frames within both send windows,
// then END_STREAM.
func (s *stream) sendBody(body io.ReadCloser) {
	w := s.w
	defer func() {
		body.Close()
		w.mu.Lock()
		s.writing = false
		if s.reset || (s.recvEnd && s.sentEnd) {
			w.forgetLocked(s)
		}
		w.mu.Unlock()
	}()
	buf := make([]byte, 16<<10)
	for {
		n, rerr := body.Read(buf)
		for data := buf[:n]; len(data) > 0; {
			k, err := s.waitWindow(len(data))
			if err != nil {
				return
			}
			if err := w.write(func() error { return w.fr.WriteData(s.id, false, data[:k]) }); err != nil {
				return
			}
			data = data[k:]
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			w.reset(s.id, http2.ErrCodeCancel, fmt.Errorf("h2client: reading the request body: %w", rerr))
			return
		}
	}
	w.mu.Lock()
	stop := s.reset
	w.mu.Unlock()
	if stop || w.write(func() error { return w.fr.WriteData(s.id, true, nil) }) != nil {
		return
	}
	w.mu.Lock()
	s.sentEnd = true
	w.mu.Unlock()
}

// waitWindow waits until up to n bytes may be sent, takes them from both
// windows and returns how many; an error if the stream or connection ended.
func (s *stream) waitWindow(n int) (int, error) {
	w := s.w
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		switch {
		case s.reset:
			return 0, errBodyClosed
		case w.closed:
			return 0, w.err
		case s.closedBody:
			return 0, errBodyClosed
		}
		if k := min(int32(n), s.sendWindow, w.sendWindow, int32(w.maxFrame)); k > 0 {
			s.sendWindow -= k
			w.sendWindow -= k
			return int(k), nil
		}
		w.cond.Wait()
	}
}

// end ends the stream early with err, unless it already ended.
func (s *stream) end(err error) {
	w := s.w
	w.mu.Lock()
	s.reset = true
	if s.err == nil && !s.recvEnd { // a response read whole stays whole
		s.err = err
	}
	w.cond.Broadcast()
	s.signalLocked()
	w.forgetLocked(s)
	w.mu.Unlock()
}

// signalLocked wakes whoever waits for the head or for body bytes.
func (s *stream) signalLocked() {
	if !s.waiting {
		return
	}
	s.waiting = false
	select {
	case s.readable <- struct{}{}:
	default:
	}
}

// cancel resets a stream the caller gave up on.
func (s *stream) cancel() {
	w := s.w
	w.mu.Lock()
	live := w.streams[s.id] == s && !(s.recvEnd && s.sentEnd)
	unread := int32(len(s.buf))
	s.buf = nil
	inc := w.recv.give(unread)
	w.mu.Unlock()
	if live {
		w.reset(s.id, http2.ErrCodeCancel, errBodyClosed)
	} else {
		s.end(errBodyClosed)
	}
	if inc > 0 {
		w.write(func() error { return w.fr.WriteWindowUpdate(0, uint32(inc)) })
	}
}

// Read reads the response body.
func (s *stream) Read(p []byte) (int, error) {
	w := s.w
	w.mu.Lock()
	for len(s.buf) == 0 && !s.recvEnd && s.err == nil && !s.closedBody {
		s.waiting = true
		w.mu.Unlock()
		select {
		case <-s.readable:
		case <-s.ctx.Done():
			s.cancel()
			return 0, context.Cause(s.ctx)
		}
		w.mu.Lock()
	}
	switch {
	case s.closedBody:
		w.mu.Unlock()
		return 0, http.ErrBodyReadAfterClose
	case len(s.buf) > 0:
		n := copy(p, s.buf)
		s.buf = s.buf[n:]
		if len(s.buf) == 0 {
			s.buf = nil
		}
		sInc, cInc := int32(0), w.recv.give(int32(n))
		if !s.recvEnd {
			sInc = s.recv.give(int32(n))
		}
		w.mu.Unlock()
		if sInc > 0 || cInc > 0 {
			w.write(func() error {
				if cInc > 0 {
					if err := w.fr.WriteWindowUpdate(0, uint32(cInc)); err != nil {
						return err
					}
				}
				if sInc > 0 {
					return w.fr.WriteWindowUpdate(s.id, uint32(sInc))
				}
				return nil
			})
		}
		return n, nil
	case !s.recvEnd:
		err := s.err
		w.mu.Unlock()
		return 0, err
	}
	if s.trailer != nil {
		if s.resp.Trailer == nil {
			s.resp.Trailer = http.Header{}
		}
		for k, vv := range s.trailer {
			s.resp.Trailer[k] = vv
		}
		s.trailer = nil
	}
	w.mu.Unlock()
	return 0, io.EOF
}

// Close ends the body; a stream not read to its end is reset.
func (s *stream) Close() error {
	w := s.w
	w.mu.Lock()
	if s.closedBody {
		w.mu.Unlock()
		return nil
	}
	s.closedBody = true
	done := s.recvEnd && len(s.buf) == 0
	w.cond.Broadcast()
	w.mu.Unlock()
	if !done {
		s.cancel()
	}
	return nil
}

// onHeaders handles a response head (or an informational one) or trailers.
func (w *wire) onHeaders(f *http2.MetaHeadersFrame) error {
	w.mu.Lock()
	s := w.streams[f.StreamID]
	w.mu.Unlock()
	if s == nil {
		return nil // a stream we reset or forgot: the block was decoded, which is all it needs
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
	if f.StreamEnded() {
		resp.Body = http.NoBody
	}
	w.mu.Lock()
	s.resp = resp
	if f.StreamEnded() {
		w.endStreamLocked(s)
	}
	s.signalLocked()
	w.mu.Unlock()
	return nil
}

// canonical returns a field name in canonical form, remembering the answer
// (read loop only).
func (w *wire) canonical(name string) string {
	if k, ok := w.canon[name]; ok {
		return k
	}
	k := http.CanonicalHeaderKey(name)
	if len(w.canon) < 1000 {
		w.canon[name] = k
	}
	return k
}

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

// onData queues a DATA frame's bytes for the stream's reader.
func (w *wire) onData(f *http2.DataFrame) error {
	n := int32(f.Length) // padding counts against the windows too
	var inc int32        // connection window to give back now
	var bad error        // a stream error to reset the stream with
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
		bad = errors.New("h2client: the server overflowed a stream's flow-control window")
	default:
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
			w.endStreamLocked(s)
		}
		s.signalLocked()
	}
	w.mu.Unlock()
	if bad != nil {
		code := http2.ErrCodeProtocol
		if s.resp != nil {
			code = http2.ErrCodeFlowControl
		}
		w.reset(s.id, code, bad)
	}
	if inc > 0 {
		return w.write(func() error { return w.fr.WriteWindowUpdate(0, uint32(inc)) })
	}
	return nil
}
