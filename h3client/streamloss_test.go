package h3client_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"

	"muxlab/h3client"
	"muxlab/internal/muxtest"
	"muxlab/link"
	"muxlab/mux"
	"muxlab/mux/h3"
	"muxlab/roundtrip"
)

// TestWithStreamLoss runs the client's tests again with StreamLoss on, which
// sends requests without a body on streams h3client opens itself.
func TestWithStreamLoss(t *testing.T) {
	streamLoss = true
	defer func() { streamLoss = false }()
	for name, f := range map[string]func(*testing.T){
		"OneConnection": TestOneConnection, "StreamLimitWaits": TestStreamLimitWaits,
		"ConnectionLost": TestConnectionLost, "Closed": TestClosed,
		"WaitersFirstComeFirstServed": TestWaitersFirstComeFirstServed,
		"ResponseTooLarge":            TestResponseTooLarge, "HostileStreams": TestHostileStreams,
		"InformationalAnswers": TestInformationalAnswers,
	} {
		t.Run(name, f)
	}
}

// TestInformationalAnswers: a few 1xx answers before the response are
// skipped; more than five fail the request, alone.
func TestInformationalAnswers(t *testing.T) {
	cert, err := mux.SelfSignedCertificate()
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http3.Server{TLSConfig: http3.ConfigureTLSConfig(&tls.Config{Certificates: []tls.Certificate{*cert}}),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n, _ := strconv.Atoi(r.URL.Query().Get("n"))
			for range n {
				w.WriteHeader(http.StatusEarlyHints)
			}
			io.WriteString(w, "ok")
		})}
	go srv.Serve(pc)
	t.Cleanup(func() { srv.Close(); pc.Close() })
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	c := client(t, pc.LocalAddr().String(), &tls.Config{RootCAs: pool, ServerName: "localhost"})
	url := "https://" + pc.LocalAddr().String()
	if code, err := get(t, c, url+"/?n=2", nil); err != nil || code != 200 {
		t.Fatalf("two 1xx answers, then: status %d, %v", code, err)
	}
	if _, err := get(t, c, url+"/?n=7", nil); err == nil {
		t.Fatal("seven 1xx answers were taken")
	}
	if code, err := get(t, c, url+"/?n=0", nil); err != nil || code != 200 {
		t.Fatalf("the request after: status %d, %v", code, err)
	}
	if st := c.Stats(); st.Dials != 1 || st.Failed != 1 {
		t.Errorf("stats %+v: want 1 dial, 1 failed", st)
	}
}

// TestStreamLossOverALossyLink fetches many streams at once over a lossy
// link: the time streams waited behind their own lost data is measured,
// and is zero on a link that loses nothing or when not asked for. The link
// has a bottleneck: without one, 40 responses at once arrive in one burst
// and quic-go's own queue of packets not yet processed drops some, a loss
// at the end host that it sends again (and this measures, rightly).
func TestStreamLossOverALossyLink(t *testing.T) {
	for _, c := range []struct {
		loss    float64
		measure bool
	}{{0, true}, {0.03, true}, {0.03, false}} {
		t.Run(fmt.Sprintf("loss=%v,measure=%v", c.loss, c.measure), func(t *testing.T) {
			lk, err := link.New(link.Options{Stack: link.StackUserspace,
				Down: link.Direction{Delay: 10 * time.Millisecond, Loss: c.loss, Rate: 50e6}, Up: link.Direction{Delay: 10 * time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { lk.Close() })
			srv := muxtest.Start(t, mux.Options{H1Addr: "127.0.0.1:0"})
			pc, err := lk.ListenPacket("udp", ":0")
			if err != nil {
				t.Fatal(err)
			}
			cert, err := mux.SelfSignedCertificate()
			if err != nil {
				t.Fatal(err)
			}
			l, err := h3.Listen(srv, h3.Options{PacketConn: pc, Certificate: cert, StreamLoss: true})
			if err != nil {
				t.Fatal(err)
			}
			l.Start()
			t.Cleanup(func() { l.Close() })
			h3c, err := h3client.New(h3client.Options{Addr: l.Addr(), TLSConfig: &tls.Config{InsecureSkipVerify: true},
				ListenPacket: lk.DialPacket, StreamLoss: c.measure})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { h3c.Close() })
			const n = 40
			infos := make([]roundtrip.Info, n)
			var wg sync.WaitGroup
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			for i := range n {
				wg.Go(func() {
					req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+l.Addr()+"/echo?size=65536", nil)
					resp, err := h3c.Do(req, &infos[i])
					if err == nil {
						_, err = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
					if err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			var total, serverTotal time.Duration
			held, serverHeld := 0, 0
			for i := range infos {
				in := &infos[i]
				if c.measure {
					d, ok := l.StreamLoss(in.Local, in.Stream)
					if !ok || !in.Streamed {
						t.Fatalf("request %d: the server does not know stream %d of %v (streamed %v)", i, in.Stream, in.Local, in.Streamed)
					}
					if d > 0 {
						serverHeld++
					}
					serverTotal += d
				}
				if in.LossHeld > in.Service() {
					t.Errorf("request %d held %v by loss, longer than its service %v", i, in.LossHeld, in.Service())
				}
				if in.LossHeld > 0 {
					held++
				}
				total += in.LossHeld

			}
			lost := lk.Stats().Down.DroppedLoss
			switch {
			case c.loss == 0 && total != 0, !c.measure && total != 0:
				t.Fatalf("%d streams held %v by loss with nothing lost or not measured", held, total)
			case c.loss > 0 && c.measure && lost > 0 && held == 0:
				t.Fatalf("the link lost %d packets, yet no stream waited behind a hole of its own", lost)
			case c.loss > 0 && held == n:
				t.Fatalf("every stream of %d held by loss: a loss holds back only its own stream", n)
			case c.loss == 0 && serverTotal != 0:
				t.Fatalf("with nothing lost the server says %d streams waited %v", serverHeld, serverTotal)
			case c.loss > 0 && c.measure && serverHeld < held:
				// The client sees a loss only as a hole after it; the
				// server sees every response piece it sent again.
				t.Fatalf("the server saw %d streams wait on losses, the client %d: want at least as many", serverHeld, held)
			}
			t.Logf("%d packets lost; %d of %d streams held, %v in all, by the client; by the server %d, %v", lost, held, n, total, serverHeld, serverTotal)
		})
	}
}
