package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"

	"muxlab/internal/rawconn"
	"muxlab/link"
	"muxlab/roundtrip"
)

// DialFunc opens a connection, as net.Dialer.DialContext does.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Target is one listener of the server under test, as the contenders that
// talk to it reach it. Every client is built from one.
type Target struct {
	// Listener names the server listener, as the server's own counts name
	// it ("h1", "h2c"): the contenders whose Listener it is use it, and
	// its counts are read for their turns.
	Listener string
	// URL is the listener's base URL, "http://127.0.0.1:8080".
	URL string
	// Addr is the host:port of URL, where connections go.
	Addr string
	// Dial opens the connections. Nil: a plain net.Dialer.
	Dial DialFunc
	// TLS verifies the server of an https:// URL (NewTarget sets the
	// system's roots and the URL's host); nil for http://. The clients add
	// the ALPN protocol they speak.
	TLS *tls.Config
	// ListenPacket makes a QUIC client's UDP socket. Nil: one on the
	// machine's network.
	ListenPacket func() (net.PacketConn, error)
	// Link is the emulated link the listener is behind, for a contender
	// that is a program of its own (a browser): it runs in the link's
	// client namespace, or reaches the listener through a forwarder. Nil:
	// the machine's own network.
	Link *link.Network
	// LinkAddr is where a program of its own (a browser) reaches the target
	// through Link when it is not Addr: another server's relay on the
	// link's server side. Empty: Addr.
	LinkAddr string
	// SPKI is the base64 SHA-256 of the listener's certificate's key, for a
	// browser to trust (the embedded server's is self-signed); empty: the
	// system's roots decide.
	SPKI string
	// Upstreams are the backends behind a balancing front, by name and h2c
	// address, when the run knows them (the embedded front's): a sidecar
	// contender balances over them itself, one HTTP/2 connection to each.
	Upstreams []NamedAddr
}

// NamedAddr is a backend's name and address.
type NamedAddr struct{ Name, Addr string }

// NewTarget makes the target of listener at rawURL, a base URL like
// http://127.0.0.1:8080 or https://127.0.0.1:8443 (no path beyond "/", no
// query), reached through dial (nil: net.Dialer).
func NewTarget(listener, rawURL string, dial DialFunc) (Target, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return Target{}, fmt.Errorf("bench: %q is not a base URL like http://127.0.0.1:8080 or https://127.0.0.1:8443", rawURL)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	t := Target{Listener: listener, URL: u.Scheme + "://" + u.Host, Addr: addr, Dial: dial}
	if u.Scheme == "https" {
		t.TLS = &tls.Config{ServerName: u.Hostname()}
	}
	return t, nil
}

// tlsDial returns the target's dialer with a TLS client on top that offers
// proto through ALPN, or the dialer alone for a cleartext target. The
// handshake is left to the client (h2client checks the protocol agreed) or
// to the first write.
func (t Target) tlsDial(proto string) DialFunc {
	dial := t.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	if t.TLS == nil {
		return dial
	}
	conf := t.TLS.Clone()
	conf.NextProtos = []string{proto}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tc := tls.Client(rawconn.Wrap(c), conf) // TLS over raw system calls, as the cleartext clients read and write (package rawconn)
		if proto == "http/1.1" {                // h1pool reads the first byte: finish the handshake now, within the dial's time
			if err := tc.HandshakeContext(ctx); err != nil {
				c.Close()
				return nil, fmt.Errorf("TLS handshake with %s: %w: %w", addr, roundtrip.ErrHandshake, err)
			}
		}
		return tc, nil
	}
}
