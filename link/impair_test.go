package link

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"math"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// udpSink counts datagrams arriving on the server side.
func udpSink(t *testing.T, n *Network) (string, chan int) {
	t.Helper()
	pc, err := n.ListenPacket("udp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	got := make(chan int, 1)
	go func() {
		buf := make([]byte, 2048)
		count := 0
		defer func() { got <- count }()
		for {
			pc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			count++
		}
	}()
	return pc.LocalAddr().String(), got
}

// A configured loss rate is what the link counts, within four standard
// deviations of the binomial, and what it does not drop arrives.
func TestLossRateCounted(t *testing.T) {
	forStacks(t, func(t *testing.T) {
		const sent, loss = 4000, 0.05
		n := newNet(t, Options{Up: Direction{Loss: loss}, Seed: 42})
		addr, got := udpSink(t, n)
		c, err := n.Dial(context.Background(), "udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		payload := make([]byte, 100)
		for range sent {
			if _, err := c.Write(payload); err != nil {
				t.Fatal(err)
			}
		}
		received := <-got
		st := n.Stats()
		if st.Up.Packets != sent {
			t.Fatalf("link counted %d packets, %d sent", st.Up.Packets, sent)
		}
		mean, sd := sent*loss, math.Sqrt(sent*loss*(1-loss))
		if d := math.Abs(float64(st.Up.DroppedLoss) - mean); d > 4*sd {
			t.Errorf("dropped %d of %d at loss %v: %.0f from the mean %.0f, more than 4 sd (%.1f)", st.Up.DroppedLoss, sent, loss, d, mean, sd)
		}
		// What the link delivered arrived, or the receiving socket's buffer
		// overflowed (a slow reader on a loaded machine), which its stack counts.
		full := st.ServerUDP.BufferDrops
		if int64(received)+full != st.Up.Delivered || st.Up.Delivered+st.Up.DroppedLoss != sent {
			t.Errorf("received %d (+%d over the socket's buffer), link delivered %d and lost %d of %d",
				received, full, st.Up.Delivered, st.Up.DroppedLoss, sent)
		}
	})
}

// The same seed loses the same packets.
func TestLossRepeatsWithSeed(t *testing.T) {
	t.Parallel()
	draw := func(seed int64) []bool {
		p := &pipe{dir: Direction{Loss: 0.1, Burst: 3}}
		p.rng = newRNG(seed, 1)
		out := make([]bool, 1000)
		for i := range out {
			out[i] = p.loseLocked()
		}
		return out
	}
	a, b, c := draw(7), draw(7), draw(8)
	if !equalBools(a, b) {
		t.Error("seed 7 twice lost different packets")
	}
	if equalBools(a, c) {
		t.Error("seeds 7 and 8 lost the same packets")
	}
}

func equalBools(a, b []bool) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Gilbert-Elliott: the long-run loss rate is Loss and bad spells last
// Burst packets on average.
func TestBurstLoss(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ loss, burst float64 }{{0.02, 1}, {0.02, 4}, {0.1, 10}} {
		p := &pipe{dir: Direction{Loss: tc.loss, Burst: tc.burst}}
		p.rng = newRNG(3, 1)
		const draws = 400_000
		lost, runs, prev := 0, 0, false
		for range draws {
			l := p.loseLocked()
			if l {
				lost++
				if !prev {
					runs++
				}
			}
			prev = l
		}
		rate, mean := float64(lost)/draws, float64(lost)/float64(runs)
		if math.Abs(rate-tc.loss) > 0.15*tc.loss {
			t.Errorf("loss %v burst %v: measured loss rate %.4f", tc.loss, tc.burst, rate)
		}
		want := max(tc.burst, 1/(1-tc.loss)) // independent losses still run together sometimes
		if math.Abs(mean-want) > 0.15*want {
			t.Errorf("loss %v burst %v: mean run of losses %.2f, want about %.2f", tc.loss, tc.burst, mean, want)
		}
	}
}

// A blast of datagrams into a slow bottleneck fills the queue and the rest
// is dropped at the tail; what was queued arrives.
func TestQueueDropsTail(t *testing.T) {
	forStacks(t, func(t *testing.T) {
		const sent, size, queue = 200, 1000, 10_000
		n := newNet(t, Options{Up: Direction{Rate: 1_000_000, Queue: queue}})
		addr, got := udpSink(t, n)
		c, err := n.Dial(context.Background(), "udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		payload := make([]byte, size-28) // IP and UDP headers make it size
		start := time.Now()
		for range sent {
			c.Write(payload)
		}
		// While the blast lasted the bottleneck sent a packet every 8 ms: a
		// loaded machine that spreads the blast out makes room for more.
		drained := int64(time.Since(start) / (size * 8 * time.Second / 1_000_000))
		received := <-got
		st := n.Stats()
		accepted := st.Up.Packets - st.Up.DroppedQueue
		if accepted < queue/size-1 || accepted > queue/size+2+drained {
			t.Errorf("queue of %d bytes took %d packets of %d bytes (%d sent on while it drained)", queue, accepted, size, drained)
		}
		if int64(received) != accepted || st.Up.Delivered != accepted || st.Up.DroppedQueue == 0 {
			t.Errorf("received %d, delivered %d, queued %d, dropped %d", received, st.Up.Delivered, accepted, st.Up.DroppedQueue)
		}
	})
}

// The bottleneck is a floor on transfer time: 512 KiB at 4 Mbit/s cannot
// take less than 1.05 s, TCP and IP headers not counted.
func TestRateIsAFloor(t *testing.T) {
	forStacks(t, func(t *testing.T) {
		const size, rate = 512 << 10, 4_000_000
		n := newNet(t, Options{Down: Direction{Rate: rate, Queue: 64 << 10, Delay: 5 * time.Millisecond}, Up: Direction{Delay: 5 * time.Millisecond}})
		c := dial(t, n, sink(t, n, size))
		start := time.Now()
		got, err := io.Copy(io.Discard, c)
		if err != nil || got != size {
			t.Fatalf("read %d bytes, %v; want %d", got, err, size)
		}
		floor := time.Duration(float64(size*8) / rate * float64(time.Second))
		if d := time.Since(start); d < floor {
			t.Errorf("%d bytes at %d bit/s took %v, less than %v", size, rate, d, floor)
		}
	})
}

// sink writes size random bytes to each connection on the server side,
// then closes it.
func sink(t testing.TB, n *Network, size int) string {
	t.Helper()
	data := make([]byte, size)
	rand.Read(data)
	return serve(t, n, func(c net.Conn) {
		c.Write(data)
		c.Close()
	})
}

// TCP over a lossy link delivers every byte intact, and the server's stack
// retransmits what the link lost on the way down.
func TestTCPRecoversFromLoss(t *testing.T) {
	forStacks(t, func(t *testing.T) {
		n := newNet(t, Options{
			Up:   Direction{Delay: 5 * time.Millisecond, Loss: 0.03},
			Down: Direction{Delay: 5 * time.Millisecond, Loss: 0.03, Rate: 50_000_000, Queue: 128 << 10},
			Seed: 9,
		})
		c := dial(t, n, echoServer(t, n))
		msg := make([]byte, 1<<20)
		rand.Read(msg)
		go c.Write(msg)
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatal("bytes changed crossing a lossy link")
		}
		st := n.Stats()
		if st.Down.DroppedLoss == 0 || st.Up.DroppedLoss == 0 {
			t.Fatalf("no losses at 3%%: up %+v down %+v", st.Up, st.Down)
		}
		// Nearly every packet down is data, and each lost one is sent again.
		if st.Server.Retransmits < st.Down.DroppedLoss/2 || st.Client.Retransmits < st.Up.DroppedLoss/2 {
			t.Errorf("retransmits: server %d for %d lost down, client %d for %d lost up",
				st.Server.Retransmits, st.Down.DroppedLoss, st.Client.Retransmits, st.Up.DroppedLoss)
		}
	})
}

// The link makes no goroutine per connection or per packet.
func TestGoroutinesDoNotGrowWithConnections(t *testing.T) {
	forStacks(t, func(t *testing.T) {
		n := newNet(t, Options{Up: Direction{Delay: time.Millisecond}, Down: Direction{Delay: time.Millisecond}})
		l, err := n.Listen("tcp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		open := func(k int) int {
			for range k {
				c := dial(t, n, l.Addr().String())
				s, err := l.Accept()
				if err != nil {
					t.Fatal(err)
				}
				c.Write([]byte("x"))
				s.Read(make([]byte, 1))
				held = append(held, c, s)
			}
			runtime.Gosched()
			return runtime.NumGoroutine()
		}
		one := open(1)
		many := open(100)
		if many > one+10 {
			t.Errorf("goroutines: %d with 1 connection, %d with 101", one, many)
		}
	})
}

// Close aborts connections, and the network refuses new ones.
func TestClose(t *testing.T) {
	forStacks(t, func(t *testing.T) {
		n, err := New(Options{Down: Direction{Delay: 50 * time.Millisecond}, Stack: stackOf(t)})
		if err != nil {
			t.Fatal(err)
		}
		l, err := n.Listen("tcp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		c := dial(t, n, l.Addr().String())
		done := make(chan error, 1)
		go func() {
			_, err := c.Read(make([]byte, 1))
			done <- err
		}()
		n.Close()
		select {
		case err := <-done:
			if err == nil {
				t.Error("read on a closed network returned no error")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("read still blocked 10s after Close")
		}
		if _, err := n.Dial(context.Background(), "tcp", l.Addr().String()); err != ErrClosed {
			t.Errorf("dial after Close: %v, want ErrClosed", err)
		}
		n.Close()
	})
}

func TestAddresses(t *testing.T) {
	forStacks(t, func(t *testing.T) {
		n := newNet(t, Options{})
		for _, addr := range []string{"10.0.0.9:80", "nohost", ":99999", "example.com:80"} {
			if _, err := n.Dial(context.Background(), "tcp", addr); err == nil {
				t.Errorf("dial %q: no error", addr)
			}
		}
		if _, err := n.Listen("unix", ":80"); err == nil {
			t.Error("listen unix: no error")
		}
	})
}

// Jitter never reorders: datagrams numbered in order arrive in order, and
// later than the delay alone would have them.
func TestJitterKeepsOrder(t *testing.T) {
	forStacks(t, func(t *testing.T) {
		n := newNet(t, Options{Up: Direction{Delay: 2 * time.Millisecond, Jitter: 20 * time.Millisecond}, Seed: 5})
		pc, err := n.ListenPacket("udp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		c, err := n.Dial(context.Background(), "udp", pc.LocalAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		const count = 200
		for i := range count {
			c.Write([]byte{byte(i)})
			time.Sleep(100 * time.Microsecond)
		}
		buf := make([]byte, 16)
		for i := range count {
			pc.SetReadDeadline(time.Now().Add(5 * time.Second))
			k, _, err := pc.ReadFrom(buf)
			if err != nil || k != 1 || buf[0] != byte(i) {
				t.Fatalf("datagram %d: got %v (%d bytes), %v", i, buf[:k], k, err)
			}
		}
	})
}

// Behind flags lateness that is large against the round trip, and only that.
func TestBehind(t *testing.T) {
	t.Parallel()
	stats := func(lateUS int64) Stats {
		h := newLateHistogram()
		for range 100 {
			h.RecordValue(lateUS)
		}
		return Stats{UpLate: h.Export(), DownLate: newLateHistogram().Export()}
	}
	for _, tc := range []struct {
		late, rtt time.Duration
		want      bool
	}{
		{500 * time.Microsecond, 40 * time.Millisecond, false},
		{3 * time.Millisecond, 40 * time.Millisecond, false}, // 10% of 40 ms is 4 ms
		{5 * time.Millisecond, 40 * time.Millisecond, true},
		{3 * time.Millisecond, 10 * time.Millisecond, true},   // the floor is 2 ms
		{3 * time.Millisecond, 170 * time.Millisecond, false}, // 10% of 170 ms is 17 ms
		{20 * time.Millisecond, 170 * time.Millisecond, true},
	} {
		if got := stats(tc.late.Microseconds()).Behind(tc.rtt); got != tc.want {
			t.Errorf("late %v over a %v round trip: behind %v, want %v", tc.late, tc.rtt, got, tc.want)
		}
	}
	// Sub keeps only what was recorded in between.
	h := newLateHistogram()
	h.RecordValue(100)
	before := Stats{UpLate: h.Export()}
	for range 9 {
		h.RecordValue(5000)
	}
	d := Stats{UpLate: h.Export()}.Sub(before)
	if got := hdrhistogram.Import(d.UpLate); got.TotalCount() != 9 || got.Min() < 4900 {
		t.Errorf("lateness between two snapshots: %d values from %d µs, want 9 from 5000", got.TotalCount(), got.Min())
	}
}
