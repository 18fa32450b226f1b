package link

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// forStacks runs f on each stack, as subtests named stack=kernel and
// stack=userspace. The kernel's needs privilege: without it the subtest is
// skipped, and fails when CI is set.
func forStacks(t *testing.T, f func(t *testing.T)) {
	for _, st := range []string{StackKernel, StackUserspace} {
		t.Run("stack="+st, func(t *testing.T) {
			if st == StackKernel {
				requireKernel(t)
			}
			f(t)
		})
	}
}

// requireKernel skips a test that needs the kernel stack where it cannot be
// had, or fails it under CI, which must run it.
func requireKernel(t testing.TB) {
	t.Helper()
	if err := KernelSupport(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run the kernel stack's tests (as root, with /dev/net/tun): %v", err)
		}
		t.Skipf("the kernel stack is not available here: %v", err)
	}
}

// stackOf is the stack a test runs on: the one its name says (see
// forStacks), else the userspace one.
func stackOf(t testing.TB) string {
	if strings.Contains(t.Name(), "stack="+StackKernel) {
		return StackKernel
	}
	return StackUserspace
}

// newNet makes a Network closed at the end of the test, on the test's stack
// unless o names one.
func newNet(t testing.TB, o Options) *Network {
	t.Helper()
	if o.Stack == "" {
		o.Stack = stackOf(t)
	}
	n, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// serve listens on the server side and runs handle on every connection,
// each on its own goroutine, until the test ends.
func serve(t testing.TB, n *Network, handle func(net.Conn)) string {
	t.Helper()
	l, err := n.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
	return l.Addr().String()
}

// echoServer echoes every connection on the server side.
func echoServer(t testing.TB, n *Network) string {
	return serve(t, n, func(c net.Conn) {
		defer c.Close()
		io.Copy(c, c)
	})
}

func dial(t testing.TB, n *Network, addr string) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := n.Dial(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(60 * time.Second))
	return c
}

func TestOptionsOutOfRange(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		opts  Options
		field string
	}{
		{"negative delay", Options{Up: Direction{Delay: -time.Millisecond}}, "Up.Delay"},
		{"loss of one", Options{Down: Direction{Loss: 1}}, "Down.Loss"},
		{"loss NaN", Options{Down: Direction{Loss: math.NaN()}}, "Down.Loss"},
		{"negative loss", Options{Up: Direction{Loss: -0.1}}, "Up.Loss"},
		{"rate too low", Options{Up: Direction{Rate: 10}}, "Up.Rate"},
		{"queue below a packet", Options{Down: Direction{Rate: 1e6, Queue: 100}}, "Down.Queue"},
		{"burst the loss cannot have", Options{Up: Direction{Loss: 0.9, Burst: 2}}, "Up.Burst"},
		{"unknown congestion control", Options{CongestionControl: "bbr9"}, "CongestionControl"},
		{"tiny MTU", Options{MTU: 100}, "MTU"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tc.opts)
			var le *Error
			if !errors.As(err, &le) || le.Field != tc.field {
				t.Fatalf("New: %v, want an *Error naming %s", err, tc.field)
			}
			if !strings.Contains(err.Error(), "allowed") {
				t.Errorf("error %q does not say what is allowed", err)
			}
		})
	}
}

func TestEchoUnimpaired(t *testing.T) {
	forStacks(t, func(t *testing.T) {
		n := newNet(t, Options{})
		c := dial(t, n, echoServer(t, n))
		msg := bytes.Repeat([]byte("muxlab "), 100_000)
		go c.Write(msg)
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatal("echo changed the bytes")
		}
		// The last ACKs may still be crossing: wait for the link to drain.
		st := n.Stats()
		for deadline := time.Now().Add(5 * time.Second); st.Up.InFlight()+st.Down.InFlight() > 0 && time.Now().Before(deadline); st = n.Stats() {
			time.Sleep(time.Millisecond)
		}
		if st.Up.Packets == 0 || st.Up.Packets != st.Up.Delivered || st.Down.Packets != st.Down.Delivered ||
			st.Up.DroppedLoss+st.Up.DroppedQueue+st.Down.DroppedLoss+st.Down.DroppedQueue != 0 {
			t.Errorf("unimpaired link: up %+v down %+v", st.Up, st.Down)
		}
		if st.Client.Connections != 1 || st.Server.Connections != 1 {
			t.Errorf("connections: client %d server %d, want 1 and 1", st.Client.Connections, st.Server.Connections)
		}
	})
}

// The link can be late but never early: a round trip takes at least the
// two delays, and the handshake one more round trip.
func TestDelayIsAFloor(t *testing.T) {
	forStacks(t, func(t *testing.T) {
		made := time.Now()
		n := newNet(t, Options{Up: Direction{Delay: 15 * time.Millisecond}, Down: Direction{Delay: 25 * time.Millisecond}})
		addr := echoServer(t, n)
		start := time.Now()
		c := dial(t, n, addr)
		if d := time.Since(start); d < 40*time.Millisecond {
			t.Errorf("handshake took %v, less than the 40ms round trip", d)
		}
		b := []byte{7}
		for range 3 {
			start = time.Now()
			c.Write(b)
			if _, err := io.ReadFull(c, b); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d < 40*time.Millisecond {
				t.Errorf("echo took %v, less than the 40ms round trip", d)
			}
		}
		st := n.Stats()
		if got := hdrhistogram.Import(st.UpLate).TotalCount(); got == 0 || got != st.Up.Delivered {
			t.Errorf("lateness recorded for %d packets, %d delivered", got, st.Up.Delivered)
		}
		// No packet can be later than the link is old.
		if p99, largest := st.Late(); p99 < 0 || largest < p99 || largest > time.Since(made) {
			t.Errorf("lateness p99 %v, largest %v, over a link %v old", p99, largest, time.Since(made))
		}
	})
}
