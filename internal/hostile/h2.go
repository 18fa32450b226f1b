package hostile

import (
	"bytes"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// serveH2 speaks HTTP/2 frame by frame, so that it can send what no
// well-made server would: a header block that never ends, a length it does
// not keep, SETTINGS out of range. It keeps the client's flow-control
// windows, so that what a client sees is the misbehaviour asked for and
// nothing else. It serves one connection until it ends.
func serveH2(c net.Conn, every string) {
	sc := &h2conn{nc: c, every: every, sendConn: 65535, initial: 65535, windows: map[uint32]int64{}}
	sc.cond.L = &sc.mu
	sc.serve()
}

// h2conn is one connection of the hostile HTTP/2 server.
type h2conn struct {
	nc    net.Conn
	every string
	fr    *http2.Framer

	wmu  sync.Mutex // wmu guards writing frames and henc
	henc *hpack.Encoder
	hbuf bytes.Buffer

	mu       sync.Mutex // mu guards the following
	cond     sync.Cond  // broadcast when a window grows or the connection ends
	sendConn int64      // the connection's send window
	initial  int64      // the client's SETTINGS_INITIAL_WINDOW_SIZE
	windows  map[uint32]int64
	gone     bool   // a GOAWAY was sent
	goneAt   uint32 // the last stream it said was processed
	closed   bool
	answers  sync.WaitGroup
}

func (sc *h2conn) serve() {
	defer func() {
		sc.mu.Lock()
		sc.closed = true
		sc.cond.Broadcast()
		sc.mu.Unlock()
		sc.nc.Close()
		sc.answers.Wait()
	}()
	sc.nc.SetDeadline(time.Now().Add(Lifetime))
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(sc.nc, preface); err != nil || string(preface) != http2.ClientPreface {
		return
	}
	sc.fr = http2.NewFramer(sc.nc, sc.nc)
	sc.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	sc.henc = hpack.NewEncoder(&sc.hbuf)
	if sc.fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 100}) != nil {
		return
	}
	for {
		f, err := sc.fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if f.IsAck() {
				continue
			}
			sc.mu.Lock()
			if v, ok := f.Value(http2.SettingInitialWindowSize); ok {
				for id := range sc.windows {
					sc.windows[id] += int64(v) - sc.initial
				}
				sc.initial = int64(v)
				sc.cond.Broadcast()
			}
			sc.mu.Unlock()
			sc.write(func() error { return sc.fr.WriteSettingsAck() })
		case *http2.WindowUpdateFrame:
			sc.mu.Lock()
			if f.StreamID == 0 {
				sc.sendConn += int64(f.Increment)
			} else if _, ok := sc.windows[f.StreamID]; ok {
				sc.windows[f.StreamID] += int64(f.Increment)
			}
			sc.cond.Broadcast()
			sc.mu.Unlock()
		case *http2.PingFrame:
			if !f.IsAck() {
				sc.write(func() error { return sc.fr.WritePing(true, f.Data) })
			}
		case *http2.RSTStreamFrame:
			sc.mu.Lock()
			delete(sc.windows, f.StreamID)
			sc.cond.Broadcast()
			sc.mu.Unlock()
		case *http2.MetaHeadersFrame:
			sc.mu.Lock()
			gone := sc.gone && f.StreamID > sc.goneAt
			if !gone {
				sc.windows[f.StreamID] = sc.initial
			}
			sc.mu.Unlock()
			if gone {
				continue // after GOAWAY: neither processed nor answered
			}
			id, path := f.StreamID, f.PseudoValue("path")
			if i := bytes.IndexByte([]byte(path), '?'); i >= 0 {
				path = path[:i]
			}
			path = route(path, sc.every)
			sc.answers.Add(1)
			go func() {
				defer sc.answers.Done()
				if !sc.answer(id, path) {
					sc.nc.Close()
				}
			}()
		}
	}
}

// write runs f, which writes frames, under the write lock.
func (sc *h2conn) write(f func() error) error {
	sc.wmu.Lock()
	defer sc.wmu.Unlock()
	return f()
}

// head writes a HEADERS frame of status and fields (name, value pairs).
func (sc *h2conn) head(id uint32, end bool, status int, fields ...string) error {
	return sc.write(func() error {
		sc.hbuf.Reset()
		sc.henc.WriteField(hpack.HeaderField{Name: ":status", Value: strconv.Itoa(status)})
		for i := 0; i+1 < len(fields); i += 2 {
			sc.henc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
		}
		return sc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: sc.hbuf.Bytes(),
			EndHeaders: true, EndStream: end})
	})
}

// data writes p on stream id within the client's windows, in frames of at
// most 16 KiB, and reports whether it could.
func (sc *h2conn) data(id uint32, p []byte, end bool) bool {
	for len(p) > 0 || end {
		n := min(len(p), 16<<10)
		sc.mu.Lock()
		for n > 0 && !sc.closed && (sc.sendConn <= 0 || sc.windows[id] <= 0) {
			if _, open := sc.windows[id]; !open {
				break
			}
			sc.cond.Wait()
		}
		_, open := sc.windows[id]
		if sc.closed || !open {
			sc.mu.Unlock()
			return false
		}
		n = int(min(int64(n), sc.sendConn, sc.windows[id]))
		sc.sendConn -= int64(n)
		sc.windows[id] -= int64(n)
		sc.mu.Unlock()
		last := end && n == len(p)
		if sc.write(func() error { return sc.fr.WriteData(id, last, p[:n]) }) != nil {
			return false
		}
		p = p[n:]
		if last {
			sc.mu.Lock()
			delete(sc.windows, id)
			sc.mu.Unlock()
			return true
		}
	}
	return true
}

// misbehaveAfter is how long the HTTP/2 server waits before it answers a
// hostile path, so that the /ok requests sent with it are answered first.
const misbehaveAfter = 50 * time.Millisecond

// answer writes the answer to path on stream id and reports whether the
// connection can go on.
func (sc *h2conn) answer(id uint32, path string) bool {
	if path != PathOK {
		// The plain answers of the requests that came with this one go
		// first: misbehaving in the middle of a page, not before it, and
		// the same way every run (an endless head holds the write lock).
		time.Sleep(misbehaveAfter)
	}
	switch path {
	case PathEndlessHead, PathLongLine:
		return sc.endlessHead(id)
	case PathEndlessBody:
		if sc.head(id, false, 200, "content-type", "text/plain") != nil {
			return false
		}
		deadline := time.Now().Add(Lifetime)
		for sent := 0; sent < Budget && time.Now().Before(deadline); sent += len(filler) {
			if !sc.data(id, filler, false) {
				return true // the client reset the stream: the connection goes on
			}
		}
		return false
	case PathDrip:
		if sc.head(id, false, 200, "content-length", "100") != nil {
			return false
		}
		for i := range 100 {
			if !sc.data(id, []byte{'d'}, i == 99) {
				return true
			}
			time.Sleep(DripEvery)
		}
		return true
	case PathShort:
		return sc.head(id, false, 200, "content-length", "100") == nil && sc.data(id, []byte("0123456789"), true)
	case PathLong:
		return sc.head(id, false, 200, "content-length", "2") == nil && sc.data(id, []byte("ok, and eighteen more"), true)
	case PathGoAway:
		sc.mu.Lock()
		sc.gone, sc.goneAt = true, id
		sc.mu.Unlock()
		if sc.head(id, false, 200, "content-length", "2") != nil || !sc.data(id, []byte("ok"), true) {
			return false
		}
		return sc.write(func() error { return sc.fr.WriteGoAway(id, http2.ErrCodeNo, nil) }) == nil
	case PathRefuse:
		last := uint32(0)
		if id > 2 {
			last = id - 2
		}
		sc.mu.Lock()
		sc.gone, sc.goneAt = true, last
		sc.mu.Unlock()
		return sc.write(func() error { return sc.fr.WriteGoAway(last, http2.ErrCodeNo, nil) }) == nil
	case PathBadSettings:
		sc.write(func() error {
			return sc.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 31})
		})
		return true // the client is to end the connection
	}
	return sc.head(id, false, 200, "content-length", "2") == nil && sc.data(id, []byte("ok"), true)
}

// endlessHead starts a header block on stream id and never ends it:
// CONTINUATION frames of small literal fields, each a new one to the
// decoder, until Budget, Lifetime or an error.
func (sc *h2conn) endlessHead(id uint32) bool {
	var field []byte
	field = append(field, 0x00, byte(len("x-flood")))
	field = append(field, "x-flood"...)
	field = append(field, 100)
	field = append(field, bytes.Repeat([]byte("a"), 100)...)
	frag := bytes.Repeat(field, (16<<10)/len(field))
	deadline := time.Now().Add(Lifetime)
	return sc.write(func() error {
		// :status first, as a block must start.
		if err := sc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: []byte{0x88}}); err != nil {
			return err
		}
		for sent := 0; sent < Budget && time.Now().Before(deadline); sent += len(frag) {
			if err := sc.fr.WriteContinuation(id, false, frag); err != nil {
				return err
			}
		}
		return io.EOF
	}) == nil
}
