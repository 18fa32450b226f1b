package link

import (
	"fmt"
	"io"
	"net"
	"sort"
	"syscall"
	"testing"
	"time"
)

func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// bulk reads size bytes from a fresh connection to a sink and returns how
// long it took.
func bulk(b testing.TB, n *Network, addr string, size int64) time.Duration {
	c := dial(b, n, addr)
	start := time.Now()
	got, err := io.Copy(io.Discard, c)
	if err != nil || got != size {
		b.Fatalf("read %d of %d bytes: %v", got, size, err)
	}
	return time.Since(start)
}

// One TCP connection through an unimpaired link: its rate and the CPU the
// two stacks and the link spend per MB moved (the process's CPU, the
// sender and receiver included).
func BenchmarkUnimpairedThroughput(b *testing.B) {
	const size = 64 << 20
	n := newNet(b, Options{})
	addr := sink(b, n, size)
	var wall, used time.Duration
	for b.Loop() {
		c0 := cpu()
		wall += bulk(b, n, addr, size)
		used += cpu() - c0
	}
	mb := float64(b.N) * size / 1e6
	b.ReportMetric(mb*8/1e3/wall.Seconds(), "Gbit/s")
	b.ReportMetric(used.Seconds()/mb, "cpu-s/MB")
}

// A bulk transfer through a 10 Mbit/s bottleneck with 100 ms of queue (2.5
// times the path's BDP): the share of the rate that TCP turns into goodput.
// The ceiling is about 96%: 1448 bytes of payload in each 1500-byte packet.
func BenchmarkGoodput10Mbit(b *testing.B) {
	const size, rate = 4 << 20, 10_000_000
	n := newNet(b, Options{
		Up:   Direction{Delay: 20 * time.Millisecond},
		Down: Direction{Delay: 20 * time.Millisecond, Rate: rate, Queue: 125_000},
	})
	addr := sink(b, n, size)
	var wall time.Duration
	for b.Loop() {
		wall += bulk(b, n, addr, size)
	}
	b.ReportMetric(float64(b.N)*size*8/wall.Seconds()/rate*100, "goodput-%")
	st := n.Stats()
	b.ReportMetric(float64(st.Down.DroppedQueue)/float64(b.N), "queue-drops/op")
}

// A 1-byte echo over a 40 ms link: the measured round trip.
func BenchmarkEcho40ms(b *testing.B) {
	n := newNet(b, Options{Up: Direction{Delay: 20 * time.Millisecond}, Down: Direction{Delay: 20 * time.Millisecond}})
	c := dial(b, n, echoServer(b, n))
	buf := []byte{1}
	var rtts []time.Duration
	for b.Loop() {
		start := time.Now()
		c.Write(buf)
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatal(err)
		}
		rtts = append(rtts, time.Since(start))
	}
	sort.Slice(rtts, func(i, j int) bool { return rtts[i] < rtts[j] })
	b.ReportMetric(float64(rtts[len(rtts)/2])/1e6, "p50-ms")
	b.ReportMetric(float64(rtts[len(rtts)*99/100])/1e6, "p99-ms")
	p99, _ := n.Stats().Late()
	b.ReportMetric(float64(p99)/1e6, "late-p99-ms")
}

// One warm connection carrying 1 MiB down a 40 ms link at 1% loss each
// way, the application writing it at once or in 4 KiB writes (as the
// demo server's HTTP/1.1 and HTTP/2 writers do): the time a transfer
// takes on each stack, and the bytes per packet. gVisor's TCP never splits
// a queued write to fill a segment (its sender merges a following write
// only when it fits whole), so small writes cost it packets, and its
// congestion window counts packets; Linux fills every segment.
func BenchmarkLossyTransfer(b *testing.B) {
	const size = 1 << 20
	for _, st := range []string{StackKernel, StackUserspace} {
		for _, chunk := range []int{size, 4 << 10} {
			b.Run(fmt.Sprintf("stack=%s/writes=%dKiB", st, chunk>>10), func(b *testing.B) {
				if st == StackKernel {
					requireKernel(b)
				}
				d := Direction{Delay: 20 * time.Millisecond, Loss: 0.01}
				n := newNet(b, Options{Up: d, Down: d, Stack: st})
				msg := make([]byte, size)
				addr := serve(b, n, func(c net.Conn) {
					defer c.Close()
					req := make([]byte, 1)
					for {
						if _, err := c.Read(req); err != nil {
							return
						}
						for off := 0; off < size; off += chunk {
							c.Write(msg[off : off+chunk])
						}
					}
				})
				c := dial(b, n, addr)
				buf := make([]byte, size)
				fetch := func() {
					c.Write([]byte{1})
					if _, err := io.ReadFull(c, buf); err != nil {
						b.Fatal(err)
					}
				}
				fetch() // open the window, as a warm connection has
				before := n.Stats()
				var ms []float64
				for b.Loop() {
					start := time.Now()
					fetch()
					ms = append(ms, float64(time.Since(start))/1e6)
				}
				st := n.Stats().Sub(before)
				sort.Float64s(ms)
				b.ReportMetric(ms[len(ms)/2], "p50-ms")
				b.ReportMetric(float64(st.Down.Bytes)/float64(max(st.Down.Packets, 1)), "B/packet")
				b.ReportMetric(float64(st.Server.Retransmits)/float64(len(ms)), "retx/op")
			})
		}
	}
}
