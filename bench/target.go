package bench

import (
	"context"
	"fmt"
	"net"
	"net/url"
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
}

// NewTarget makes the target of listener at rawURL, a base URL like
// http://127.0.0.1:8080 (no path beyond "/", no query), reached through
// dial (nil: net.Dialer).
func NewTarget(listener, rawURL string, dial DialFunc) (Target, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "http" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return Target{}, fmt.Errorf("bench: %q is not a base URL like http://127.0.0.1:8080", rawURL)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return Target{Listener: listener, URL: "http://" + u.Host, Addr: addr, Dial: dial}, nil
}
