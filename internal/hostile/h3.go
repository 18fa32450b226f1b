package hostile

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// H3 is a hostile HTTP/3 server on a loopback UDP port, made of quic-go's
// own server with handlers that misbehave: quic-go frames what a handler
// writes, so a head beyond a client's bound is one huge field rather than
// an endless block, and a kept length is quic-go's to enforce.
type H3 struct {
	every string
	pc    net.PacketConn
	srv   *http3.Server
	cs    chan struct{}
}

// StartH3 serves with cert on 127.0.0.1 at a port the kernel picks; every
// is as for StartH1.
func StartH3(cert *tls.Certificate, every string) (*H3, error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &H3{pc: pc, every: every, cs: make(chan struct{})}
	s.srv = &http3.Server{
		Handler:   http.HandlerFunc(s.serve),
		TLSConfig: http3.ConfigureTLSConfig(&tls.Config{Certificates: []tls.Certificate{*cert}}),
		QUICConfig: &quic.Config{
			MaxIdleTimeout: Lifetime,
		},
	}
	go func() {
		defer close(s.cs)
		s.srv.Serve(pc)
	}()
	return s, nil
}

// URL is the server's base URL.
func (s *H3) URL() string { return "https://" + s.pc.LocalAddr().String() }

// Addr is the server's host:port.
func (s *H3) Addr() string { return s.pc.LocalAddr().String() }

// Close stops the server.
func (s *H3) Close() error {
	err := s.srv.Close()
	s.pc.Close()
	<-s.cs
	return err
}

func (s *H3) serve(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), Lifetime)
	defer cancel()
	switch route(r.URL.Path, s.every) {
	case PathEndlessHead, PathLongLine:
		// A field section of 2 MiB (a HEADERS frame of about 1.25 MiB
		// once Huffman-coded): beyond a client's default bound of 1 MiB
		// both ways, and quick enough to encode under the race detector.
		w.Header().Set("X-Flood", strings.Repeat("a", 2<<20))
		w.WriteHeader(http.StatusOK)
		return
	case PathEndlessBody:
		w.WriteHeader(http.StatusOK)
		for sent := 0; sent < Budget && ctx.Err() == nil; sent += len(filler) {
			if _, err := w.Write(filler); err != nil {
				return
			}
		}
		return
	case PathDrip:
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusOK)
		t := time.NewTicker(DripEvery)
		defer t.Stop()
		for range 100 {
			if _, err := w.Write([]byte{'d'}); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			}
		}
		return
	case PathShort:
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("0123456789"))
		return
	case PathLong:
		w.Header().Set("Content-Length", "2")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("ok, and eighteen more"))
		return
	case PathGoAway:
		w.Header().Set("Content-Length", "2")
		w.Write([]byte("ok"))
		go s.srv.Shutdown(context.Background()) // GOAWAY, then the requests in flight finish
		return
	}
	w.Header().Set("Content-Length", "2")
	w.Write([]byte("ok"))
}
