package h3client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/quic-go/qlog"
	"github.com/quic-go/quic-go/qlogwriter"
)

// streamGaps measures, per request stream of one QUIC connection, how long
// the stream's received data waited behind a hole in its own bytes: from
// the first STREAM frame that arrived beyond the hole to the frame that
// filled it (the lost data sent again). QUIC delivers each stream in order
// and streams independently, so this is the stream's own head-of-line
// blocking; another stream's loss holds back nothing here. A lost packet
// that carried a stream's last bytes leaves no hole to see (nothing of the
// stream arrives beyond it): the stream just ends later, and that wait is
// not counted.
//
// It is the connection's qlog trace (quic.Config.Tracer): quic-go hands it
// every packet received, with its frames, as it processes them.
type streamGaps struct {
	mu      sync.Mutex // guards the following
	streams map[quic.StreamID]*streamGap
}

// streamGap is one stream's received bytes: in order up to next, and the
// ranges beyond it, sorted and apart.
type streamGap struct {
	next  int64
	ahead []byteRange
	since time.Time // when data first arrived beyond the hole; zero: no hole
	held  time.Duration
}

type byteRange struct{ from, to int64 }

// maxAhead bounds the ranges a stream keeps beyond a hole; past it the
// stream's figure stops growing (it still counts the time until the hole
// closes).
const maxAhead = 1024

func newStreamGaps() *streamGaps { return &streamGaps{streams: make(map[quic.StreamID]*streamGap)} }

// AddProducer implements qlogwriter.Trace.
func (g *streamGaps) AddProducer() qlogwriter.Recorder { return g }

// RecordEvent implements qlogwriter.Recorder: it reads the STREAM frames of
// every packet received.
func (g *streamGaps) RecordEvent(ev qlogwriter.Event) {
	pr, ok := ev.(qlog.PacketReceived)
	if !ok {
		return
	}
	now := time.Now()
	for _, f := range pr.Frames {
		if sf, ok := f.Frame.(*qlog.StreamFrame); ok && sf.Length > 0 {
			g.frame(sf.StreamID, sf.Offset, sf.Offset+sf.Length, now)
		}
	}
}

// Close implements qlogwriter.Recorder.
func (g *streamGaps) Close() error { return nil }

// watch starts measuring stream id; only watched streams are kept.
func (g *streamGaps) watch(id quic.StreamID) {
	g.mu.Lock()
	g.streams[id] = &streamGap{}
	g.mu.Unlock()
}

// take ends the measuring of stream id and returns its time behind holes.
func (g *streamGaps) take(id quic.StreamID, now time.Time) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.streams[id]
	if st == nil {
		return 0
	}
	delete(g.streams, id)
	if !st.since.IsZero() { // ended (cancelled, failed) with a hole open
		st.held += now.Sub(st.since)
	}
	return st.held
}

// frame notes bytes [from, to) of stream id, received at now.
func (g *streamGaps) frame(id quic.StreamID, from, to int64, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.streams[id]
	if st == nil || to <= st.next {
		return
	}
	if from <= st.next {
		st.next = to
		i := 0
		for ; i < len(st.ahead) && st.ahead[i].from <= st.next; i++ {
			st.next = max(st.next, st.ahead[i].to)
		}
		st.ahead = append(st.ahead[:0], st.ahead[i:]...)
	} else {
		st.ahead = insertRange(st.ahead, byteRange{from, to})
	}
	switch {
	case len(st.ahead) == 0 && !st.since.IsZero():
		st.held += now.Sub(st.since)
		st.since = time.Time{}
	case len(st.ahead) > 0 && st.since.IsZero():
		st.since = now
	}
}

// insertRange adds r to the sorted, apart ranges rs, merging what touches.
func insertRange(rs []byteRange, r byteRange) []byteRange {
	out := rs[:0:0]
	placed := false
	for _, x := range rs {
		switch {
		case x.to < r.from:
			out = append(out, x)
		case r.to < x.from:
			if !placed {
				out = append(out, r)
				placed = true
			}
			out = append(out, x)
		default: // they touch or overlap
			r = byteRange{min(r.from, x.from), max(r.to, x.to)}
		}
	}
	if !placed {
		out = append(out, r)
	}
	if len(out) > maxAhead {
		out = out[:maxAhead]
	}
	return out
}

// maxInformational bounds the informational (1xx) answers a request takes
// before its response, as quic-go's own RoundTrip does.
const maxInformational = 5

// errTooManyInformational: a server sent more than maxInformational 1xx
// answers to one request.
var errTooManyInformational = errors.New("h3client: more than 5 informational (1xx) responses to one request")

// streamRoundTrip sends a request without a body on a request stream of its
// own opening, so that the stream's id is known and its losses measured
// (quic-go's RoundTrip does not say which stream it used). It does what
// RoundTrip does for such a request: it waits for the handshake, cancels
// the stream when ctx ends (stop, which the caller calls once the response
// is done, releases that), and skips informational answers.
func (c *Client) streamRoundTrip(ctx context.Context, cn *conn, req *http.Request, b *body) (resp *http.Response, id quic.StreamID, stop func() bool, err error) {
	select {
	case <-cn.qc.HandshakeComplete():
	case <-ctx.Done():
		return nil, 0, nil, ctx.Err()
	}
	rs, err := cn.cc.OpenRequestStream(ctx)
	if err != nil {
		return nil, 0, nil, err
	}
	id = rs.StreamID()
	cn.gaps.watch(id)
	stop = context.AfterFunc(ctx, func() {
		rs.CancelWrite(quic.StreamErrorCode(http3.ErrCodeRequestCanceled))
		rs.CancelRead(quic.StreamErrorCode(http3.ErrCodeRequestCanceled))
	})
	fail := func(err error) (*http.Response, quic.StreamID, func() bool, error) {
		stop()
		cn.gaps.take(id, time.Now())
		return nil, id, nil, err
	}
	if err := rs.SendRequestHeader(req); err != nil {
		return fail(err)
	}
	b.wroteHeaders()
	if err := rs.Close(); err != nil { // the request's side of the stream ends: it has no body
		return fail(err)
	}
	for informational := 0; ; {
		resp, err = rs.ReadResponse()
		if err != nil {
			return fail(err)
		}
		if resp.StatusCode < 100 || resp.StatusCode > 199 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
		if informational++; informational > maxInformational {
			rs.CancelRead(quic.StreamErrorCode(http3.ErrCodeExcessiveLoad))
			rs.CancelWrite(quic.StreamErrorCode(http3.ErrCodeExcessiveLoad))
			return fail(fmt.Errorf("%w", errTooManyInformational))
		}
	}
	state := cn.qc.ConnectionState().TLS
	resp.TLS, resp.Request = &state, req
	return resp, id, stop, nil
}
