package h2client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Flow-control windows the client offers, as x/net's Transport does: 4 MiB
// per stream, 1 GiB for the connection.
const (
	streamWindow = 4 << 20
	connWindow   = 1 << 30
	// defaultUserAgent is what x/net sends when a request sets none.
	defaultUserAgent = "Go-http-client/2.0"
)

// errConnClosed ends the streams of a connection closed by the client.
var errConnClosed = errors.New("h2client: connection closed")

// wire is one HTTP/2 connection, spoken at the frame level on x/net's Framer
// and hpack.
//
// x/net's ClientConn runs a goroutine per request, selects over half a dozen
// channels per stream and flushes every request's HEADERS in a write of its
// own; as a load generator it spent twice h2load's CPU per request (pprof:
// its request goroutines, header validation and response plumbing were
// half of it). wire keeps one reader goroutine per connection and none per
// request (only a request with a body gets a goroutine to send it), writes
// through batchConn, and keeps what x/net keeps: both flow-control
// windows, the server's stream limit (a request waits, first come first
// served, until a stream is forgotten, as StrictMaxConcurrentStreams does),
// GOAWAY, RST_STREAM, PING, SETTINGS, CONTINUATION and trailers.
type wire struct {
	nc     net.Conn
	bw     *batchConn
	fr     *http2.Framer
	br     *bufio.Reader // what fr reads from
	scheme string        // "https" over TLS, "http" for h2c
	// maxHeader is the bound on a response's header list, as advertised.
	maxHeader uint32
	// spent is set once the connection can take no new stream: it ended,
	// the server sent GOAWAY, or the stream ids ran out.
	spent  atomic.Bool
	lower  map[string]string // header name to its lower case; under wmu
	canon  map[string]string // received field name to canonical; read loop only
	status map[int]string    // status code to Status; read loop only

	// wmu guards writing frames and the hpack encoder's state, which must
	// change in the order the frames go out, and the choice of stream ids,
	// which must rise in that order too.
	wmu  sync.Mutex
	henc *hpack.Encoder
	hbuf bytes.Buffer
	// fields and keys are the request being encoded; cacheFields,
	// cacheBlock the last all-indexed block (valid while cached).
	fields, cacheFields []hpack.HeaderField
	keys                []string
	cacheBlock          []byte
	cached              bool

	mu sync.Mutex // mu guards the following
	// cond is broadcast when a send window grows or a stream ends, for
	// request bodies waiting to send.
	cond        sync.Cond
	streams     map[uint32]*stream
	nextID      uint32
	waiters     []*waiter // requests waiting for a stream, oldest first
	reserved    int       // streams admitted and not yet opened
	maxStreams  uint32    // the server's SETTINGS_MAX_CONCURRENT_STREAMS
	sendInitial int32     // the server's SETTINGS_INITIAL_WINDOW_SIZE
	maxFrame    uint32    // the server's SETTINGS_MAX_FRAME_SIZE
	sendWindow  int32     // the connection's window for what we send
	recv        inflow    // the connection's window for what we receive
	goAway      *GoAwayError
	closed      bool
	err         error // why the connection ended; nil while it is open
	pings       map[[8]byte]chan struct{}
}

// newWire starts HTTP/2 on nc: the preface, the client's SETTINGS and
// connection window, and the reader. maxRead is the largest frame the client
// accepts (0: 16 KiB); maxHeader bounds a response's header list, in
// SETTINGS_MAX_HEADER_LIST_SIZE's measure, advertised and enforced.
func newWire(nc net.Conn, maxRead, maxHeader uint32) (*wire, error) {
	w := &wire{nc: nc, bw: newBatchConn(nc), scheme: "http", lower: map[string]string{},
		canon: map[string]string{}, status: map[int]string{},
		streams: map[uint32]*stream{}, nextID: 1, maxStreams: 1000, sendInitial: 65535, maxFrame: 16 << 10,
		sendWindow: 65535, recv: inflow{avail: connWindow}, pings: map[[8]byte]chan struct{}{}}
	if _, ok := nc.(*tls.Conn); ok {
		w.scheme = "https"
	}
	w.cond.L = &w.mu
	w.henc = hpack.NewEncoder(&w.hbuf)
	w.br = bufio.NewReaderSize(nc, 16<<10)
	w.fr = http2.NewFramer(w.bw, w.br)
	w.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	w.fr.SetReuseFrames() // nothing keeps a frame past its handling
	w.fr.MaxHeaderListSize = maxHeader
	w.maxHeader = maxHeader
	settings := []http2.Setting{{ID: http2.SettingEnablePush, Val: 0}, {ID: http2.SettingInitialWindowSize, Val: streamWindow},
		{ID: http2.SettingMaxHeaderListSize, Val: maxHeader}}
	if maxRead != 0 {
		maxRead = min(max(maxRead, 16<<10), 1<<24-1)
		w.fr.SetMaxReadFrameSize(maxRead)
		settings = append(settings, http2.Setting{ID: http2.SettingMaxFrameSize, Val: maxRead})
	}
	w.wmu.Lock()
	_, err := w.bw.Write([]byte(http2.ClientPreface))
	if err == nil {
		err = w.fr.WriteSettings(settings...)
	}
	if err == nil {
		err = w.fr.WriteWindowUpdate(0, connWindow-65535)
	}
	w.wmu.Unlock()
	if err != nil {
		w.bw.Close()
		return nil, err
	}
	go w.readLoop()
	return w, nil
}

// wireState is what h2client asks of a connection.
type wireState struct {
	Closed, Closing      bool
	MaxConcurrentStreams uint32
}

func (w *wire) State() wireState {
	w.mu.Lock()
	defer w.mu.Unlock()
	return wireState{Closed: w.closed, Closing: w.closed || w.goAway != nil, MaxConcurrentStreams: w.maxStreams}
}

// CanTakeNewRequest reports whether a new stream may be opened.
func (w *wire) CanTakeNewRequest() bool {
	return !w.spent.Load()
}

// Close closes the connection at once; streams in flight fail.
func (w *wire) Close() error {
	w.fail(errConnClosed)
	return nil
}

// fail ends the connection with err, once, and every stream on it.
func (w *wire) fail(err error) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed, w.err = true, err
	w.spent.Store(true)
	streams := w.streams
	w.streams = map[uint32]*stream{}
	for _, wt := range w.waiters {
		close(wt.ch)
	}
	w.waiters = nil
	for _, ch := range w.pings {
		close(ch)
	}
	w.pings = map[[8]byte]chan struct{}{}
	w.cond.Broadcast()
	w.mu.Unlock()
	for _, s := range streams {
		s.end(err)
	}
	w.bw.Close()
}

// Ping sends a PING and waits for its answer. The server sends its SETTINGS
// before it answers the first PING, so once it has, the server's limits are
// known.
func (w *wire) Ping(ctx context.Context) error {
	var data [8]byte
	rand.Read(data[:])
	ch := make(chan struct{})
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return w.err
	}
	w.pings[data] = ch
	w.mu.Unlock()
	if err := w.write(func() error { return w.fr.WritePing(false, data) }); err != nil {
		return err
	}
	select {
	case <-ch:
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.closed {
			return w.err
		}
		return nil
	case <-ctx.Done():
		w.mu.Lock()
		delete(w.pings, data)
		w.mu.Unlock()
		return ctx.Err()
	}
}

// write runs f, which writes frames, under the write lock; a write error
// ends the connection.
func (w *wire) write(f func() error) error {
	w.wmu.Lock()
	err := f()
	w.wmu.Unlock()
	if err != nil {
		w.fail(err)
	}
	return err
}

// readLoop reads and handles every frame until the connection ends.
func (w *wire) readLoop() {
	for {
		if w.br.Buffered() == 0 {
			// Let the requests this read woke run (and send their next
			// requests) before reading again: the answers that arrive
			// meanwhile come in one read instead of one each.
			runtime.Gosched()
		}
		f, err := w.fr.ReadFrame()
		if mh, ok := f.(*http2.MetaHeadersFrame); ok && err != nil && mh.Truncated {
			// A header block that went on past the bound (CONTINUATION
			// after CONTINUATION): x/net stops reading it and ends the
			// connection, for the decoder's state is lost. The stream
			// that asked for it fails as too large; the others as lost.
			// The connection takes no new stream from now on, before the
			// stream's caller can send its next request on it.
			w.spent.Store(true)
			w.endStream(mh.StreamID, w.tooLarge(mh.StreamID))
		}
		if err != nil {
			var se http2.StreamError
			if errors.As(err, &se) { // a malformed header block: that stream only
				w.reset(se.StreamID, se.Code, se)
				continue
			}
			var ce http2.ConnectionError
			if errors.As(err, &ce) {
				w.write(func() error { return w.fr.WriteGoAway(0, http2.ErrCode(ce), nil) })
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			w.fail(fmt.Errorf("h2client: reading from the server: %w", err))
			return
		}
		if err := w.handle(f); err != nil {
			w.write(func() error { return w.fr.WriteGoAway(0, http2.ErrCodeProtocol, nil) })
			w.fail(err)
			return
		}
	}
}

// handle acts on one frame; an error is a connection error.
func (w *wire) handle(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.MetaHeadersFrame:
		return w.onHeaders(f)
	case *http2.DataFrame:
		return w.onData(f)
	case *http2.RSTStreamFrame:
		w.mu.Lock()
		s := w.streams[f.StreamID]
		w.mu.Unlock()
		if s != nil {
			s.end(http2.StreamError{StreamID: f.StreamID, Code: f.ErrCode})
		}
	case *http2.SettingsFrame:
		return w.onSettings(f)
	case *http2.PingFrame:
		if !f.IsAck() {
			return w.write(func() error { return w.fr.WritePing(true, f.Data) })
		}
		w.mu.Lock()
		if ch, ok := w.pings[f.Data]; ok {
			delete(w.pings, f.Data)
			close(ch)
		}
		w.mu.Unlock()
	case *http2.GoAwayFrame:
		w.onGoAway(f)
	case *http2.WindowUpdateFrame:
		return w.onWindowUpdate(f)
	case *http2.PushPromiseFrame:
		return errors.New("h2client: the server pushed a stream, which the client's SETTINGS forbid")
	}
	return nil // PRIORITY and unknown frames are ignored
}

func (w *wire) onSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	tableSize := int64(-1)
	w.mu.Lock()
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			// A window past 2^31-1, a frame size out of range: a
			// connection error (RFC 9113, 6.5.2), never a value used.
			return fmt.Errorf("h2client: the server sent %v: %w", s, err)
		}
		switch s.ID {
		case http2.SettingMaxConcurrentStreams:
			w.maxStreams = s.Val
			w.admitLocked()
		case http2.SettingInitialWindowSize:
			delta := int32(s.Val) - w.sendInitial
			w.sendInitial = int32(s.Val)
			for _, st := range w.streams {
				st.sendWindow += delta
			}
			w.cond.Broadcast()
		case http2.SettingMaxFrameSize:
			w.maxFrame = s.Val
		case http2.SettingHeaderTableSize:
			tableSize = int64(s.Val) // set under wmu, which is never taken under mu
		}
		return nil
	})
	w.mu.Unlock()
	if err != nil {
		return err
	}
	return w.write(func() error {
		if tableSize >= 0 {
			w.henc.SetMaxDynamicTableSizeLimit(uint32(tableSize))
			w.cached = false // the next block starts with a table size update
		}
		return w.fr.WriteSettingsAck()
	})
}

func (w *wire) onGoAway(f *http2.GoAwayFrame) {
	ge := &GoAwayError{LastStreamID: f.LastStreamID, ErrCode: f.ErrCode, DebugData: string(f.DebugData())}
	w.mu.Lock()
	w.goAway = ge
	w.spent.Store(true)
	var refused []*stream
	for id, s := range w.streams {
		if id > f.LastStreamID { // never processed
			refused = append(refused, s)
		}
	}
	for _, wt := range w.waiters {
		close(wt.ch)
	}
	w.waiters = nil
	w.mu.Unlock()
	for _, s := range refused {
		s.end(*ge)
	}
}

func (w *wire) onWindowUpdate(f *http2.WindowUpdateFrame) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if f.StreamID == 0 {
		if int64(w.sendWindow)+int64(f.Increment) > 1<<31-1 {
			return errors.New("h2client: the server's WINDOW_UPDATE overflowed the connection's window")
		}
		w.sendWindow += int32(f.Increment)
	} else if s := w.streams[f.StreamID]; s != nil {
		s.sendWindow += int32(f.Increment)
	}
	w.cond.Broadcast()
	return nil
}

// reset sends RST_STREAM for stream id and ends it with err.
func (w *wire) reset(id uint32, code http2.ErrCode, err error) {
	w.write(func() error { return w.fr.WriteRSTStream(id, code) })
	w.endStream(id, err)
}

// forgetLocked removes stream s, which no longer counts against the
// server's limit, and lets the next waiting request open one.
func (w *wire) forgetLocked(s *stream) {
	if w.streams[s.id] != s || s.writing {
		return
	}
	delete(w.streams, s.id)
	w.admitLocked()
	w.cond.Broadcast()
	if w.goAway != nil && len(w.streams) == 0 && !w.closed {
		go w.fail(errConnClosed) // the server is done with it, and so are we
	}
}

// waiter is a request waiting for the server's limit to allow one more
// stream. ch is closed when it may open one (ok) or the connection can take
// no more (not ok).
type waiter struct {
	ch chan struct{}
	ok bool
}

// admitLocked wakes the oldest waiters while the server's limit allows,
// reserving a stream for each.
func (w *wire) admitLocked() {
	for len(w.waiters) > 0 && w.roomLocked() {
		wt := w.waiters[0]
		w.waiters = w.waiters[1:]
		wt.ok = true
		w.reserved++
		close(wt.ch)
	}
}

func (w *wire) roomLocked() bool {
	return uint32(len(w.streams)+w.reserved) < w.maxStreams
}

// inflow is a window for what we receive: avail is what the server may
// still send, unsent what was consumed and not yet given back.
type inflow struct{ avail, unsent int32 }

// take accounts for n bytes received; false if they overflow the window.
func (f *inflow) take(n int32) bool {
	if n > f.avail {
		return false
	}
	f.avail -= n
	return true
}

// give accounts for n bytes consumed and returns the WINDOW_UPDATE to send
// (0: none yet), by x/net's rule: at least 4 KiB, and at least what is left.
func (f *inflow) give(n int32) int32 {
	f.unsent += n
	if f.unsent < 4<<10 || f.unsent < f.avail {
		return 0
	}
	inc := f.unsent
	f.avail += inc
	f.unsent = 0
	return inc
}
