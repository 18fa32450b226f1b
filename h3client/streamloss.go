package h3client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

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
	cn.gaps.Watch(id)
	stop = context.AfterFunc(ctx, func() {
		rs.CancelWrite(quic.StreamErrorCode(http3.ErrCodeRequestCanceled))
		rs.CancelRead(quic.StreamErrorCode(http3.ErrCodeRequestCanceled))
	})
	fail := func(err error) (*http.Response, quic.StreamID, func() bool, error) {
		stop()
		cn.gaps.Take(id, time.Now())
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
