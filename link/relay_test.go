package link

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// The relay puts the link in front of a real TCP server on loopback.
func TestRelayTCP(t *testing.T) {
	forStacks(t, func(t *testing.T) {
		real, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer real.Close()
		go func() {
			for {
				c, err := real.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					io.Copy(c, c)
				}()
			}
		}()
		n := newNet(t, Options{Up: Direction{Delay: 10 * time.Millisecond}, Down: Direction{Delay: 10 * time.Millisecond}})
		addr, err := n.Relay(context.Background(), "tcp", real.Addr().String(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c := dial(t, n, addr)
		start := time.Now()
		c.Write([]byte("ping"))
		got := make([]byte, 4)
		if _, err := io.ReadFull(c, got); err != nil || string(got) != "ping" {
			t.Fatalf("echo through the relay: %q, %v", got, err)
		}
		if d := time.Since(start); d < 20*time.Millisecond {
			t.Errorf("echo through a 20ms link took %v", d)
		}
		// The client's half close reaches the real server, whose close comes back.
		c.(interface{ CloseWrite() error }).CloseWrite()
		if rest, err := io.ReadAll(c); err != nil || len(rest) != 0 {
			t.Errorf("after half close: %q, %v", rest, err)
		}
		if st := n.Stats(); st.Server.Connections != 1 {
			t.Errorf("server side accepted %d connections, want 1", st.Server.Connections)
		}
	})
}

// A relay to a port where nothing listens closes the client's connection.
func TestRelayRefused(t *testing.T) {
	forStacks(t, func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dead := l.Addr().String()
		l.Close()
		n := newNet(t, Options{})
		addr, err := n.Relay(context.Background(), "tcp", dead, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c := dial(t, n, addr)
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Error("read through a relay to a dead port succeeded")
		}
	})
}

// UDP flows through the relay both ways, one real socket per client socket.
func TestRelayUDP(t *testing.T) {
	forStacks(t, func(t *testing.T) {
		real, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer real.Close()
		go func() {
			buf := make([]byte, 2048)
			for {
				k, from, err := real.ReadFrom(buf)
				if err != nil {
					return
				}
				real.WriteTo(buf[:k], from)
			}
		}()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		n := newNet(t, Options{Up: Direction{Delay: 5 * time.Millisecond}})
		addr, err := n.Relay(ctx, "udp", real.LocalAddr().String(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			c, err := n.Dial(context.Background(), "udp", addr)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			c.Write([]byte{byte(i), 'x'})
			got := make([]byte, 16)
			k, err := c.Read(got)
			if err != nil || k != 2 || got[0] != byte(i) {
				t.Fatalf("flow %d: %q, %v", i, got[:k], err)
			}
			c.Close()
		}
		// Cancelling the relay's context stops it: nothing comes back.
		cancel()
		c, err := n.Dial(context.Background(), "udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(300 * time.Millisecond))
		c.Write([]byte("late"))
		if _, err := c.Read(make([]byte, 16)); err == nil {
			t.Error("a stopped relay still answered")
		}
	})
}

// Forward carries connections from loopback over the link, one each.
func TestForward(t *testing.T) {
	forStacks(t, func(t *testing.T) {
		n := newNet(t, Options{Up: Direction{Delay: 5 * time.Millisecond}, Down: Direction{Delay: 5 * time.Millisecond}})
		addr := echoServer(t, n)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		local, err := n.Forward(ctx, addr, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			c, err := net.Dial("tcp", local)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			c.Write([]byte("hi"))
			got := make([]byte, 2)
			if _, err := io.ReadFull(c, got); err != nil || string(got) != "hi" {
				t.Fatalf("echo through the forwarder: %q, %v", got, err)
			}
			c.Close()
		}
		if st := n.Stats(); st.Client.Connections != 3 {
			t.Errorf("the link carried %d connections for 3 to the forwarder", st.Client.Connections)
		}
		cancel()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if c, err := net.Dial("tcp", local); err != nil {
				return
			} else {
				c.Close()
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Error("the forwarder still accepts after its context was cancelled")
	})
}

// ForwardPacket carries each flow of datagrams from the machine's own
// network across the link, one client-side socket per source, and the
// answers back; each round trip takes at least the link's.
func TestForwardPacket(t *testing.T) {
	forStacks(t, func(t *testing.T) {
		n := newNet(t, Options{Up: Direction{Delay: 5 * time.Millisecond}, Down: Direction{Delay: 5 * time.Millisecond}})
		pc, err := n.ListenPacket("udp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		sources := make(chan string, 16)
		go func() {
			buf := make([]byte, 2048)
			for {
				k, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				sources <- from.String()
				pc.WriteTo(buf[:k], from)
			}
		}()
		local, err := n.ForwardPacket(t.Context(), "127.0.0.1:0", pc.LocalAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 { // two sources: two flows
			c, err := net.Dial("udp", local)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			start := time.Now()
			c.Write([]byte{byte(i)})
			got := make([]byte, 8)
			if k, err := c.Read(got); err != nil || k != 1 || got[0] != byte(i) {
				t.Fatalf("echo %d through the forwarder: %v, %v", i, got[:k], err)
			}
			if d := time.Since(start); d < 10*time.Millisecond {
				t.Errorf("a datagram's round trip took %v, less than the link's 10ms", d)
			}
			c.Close()
		}
		if a, b := <-sources, <-sources; a == b || !strings.HasPrefix(a, ClientIP.String()+":") {
			t.Errorf("the server saw the flows from %s and %s; want two sockets on the client side", a, b)
		}
	})
}
