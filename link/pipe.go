package link

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
)

// A packet in flight: its bytes, copied out of the sender's stack (buf for
// the userspace stack, raw for the kernel's), and when it is due at the
// receiver.
type packet struct {
	proto tcpip.NetworkProtocolNumber
	buf   buffer.Buffer
	raw   *[]byte
	due   time.Time
}

// An outbound packet is one a stack hands the link: its size, and its bytes,
// taken (copied or handed over) only once the link has decided to carry it.
type outbound interface {
	size() int
	take() packet
	// head copies the packet's first bytes into b and returns how many.
	head(b []byte) int
}

// head copies the packet's first bytes into b and returns how many.
func (pk *packet) head(b []byte) int {
	if pk.raw != nil {
		return copy(b, *pk.raw)
	}
	n, _ := pk.buf.ReadAt(b, 0) // io.EOF when the packet is shorter than b: n says how much
	return n
}

// A receiver is the stack at a pipe's far end.
type receiver interface {
	// deliver hands the packet to the stack, which owns its bytes from then.
	deliver(pk *packet)
	// discard releases the bytes of a packet that will not be delivered.
	discard(pk *packet)
}

// A pipe is one direction of the link. Senders stamp each packet with its
// delivery time under mu (serialisation behind the packets before it, the
// delay, the jitter) and one goroutine delivers them in order, so packets
// never reorder and no goroutine or timer is made per packet.
type pipe struct {
	dir  Direction
	up   bool          // client to server
	rep  *repairs      // where lost TCP segments and their repairs go
	peer receiver      // receives what this pipe delivers
	wake chan struct{} // a packet arrived in an empty pipe
	done chan struct{} // closed by close
	exit chan struct{} // closed when run returns

	mu     sync.Mutex // guards the following
	rng    *rand.Rand
	bad    bool      // the Gilbert-Elliott chain is in its losing state
	txFree time.Time // when the bottleneck has sent what it holds
	last   time.Time // the latest delivery time given out
	fifo   []packet
	head   int
	closed bool
	count  Counters
	late   *hdrhistogram.Histogram // µs each packet was delivered after its due time

	lateBuf []int64 // run's: the lateness of the batch being delivered
}

func newPipe(dir Direction, seed int64, stream uint64, peer receiver, rep *repairs) *pipe {
	p := &pipe{
		dir:  dir,
		up:   stream == 1,
		rep:  rep,
		peer: peer,
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
		exit: make(chan struct{}),
		rng:  newRNG(seed, stream),
		late: newLateHistogram(),
	}
	go p.run()
	return p
}

// newRNG returns the draws of one direction: a seed gives the same losses
// and jitter every run.
func newRNG(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), stream))
}

// send puts pkt on the link, or counts why it was dropped; it reports
// whether it took the packet's bytes.
func (p *pipe) send(pkt outbound) bool {
	size := pkt.size()
	now := time.Now()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return false
	}
	p.count.Packets++
	p.count.Bytes += int64(size)
	txEnd := now
	if rate := p.dir.Rate; rate > 0 {
		start := now
		if p.txFree.After(now) {
			start = p.txFree
		}
		backlog := int64(start.Sub(now).Seconds() * float64(rate) / 8)
		if p.dir.Queue > 0 && backlog+int64(size) > p.dir.Queue {
			p.count.DroppedQueue++
			p.lostLocked(pkt, now.Add(p.dir.Delay))
			p.mu.Unlock()
			return false
		}
		txEnd = start.Add(time.Duration(float64(size*8) / float64(rate) * float64(time.Second)))
		p.txFree = txEnd
	}
	if p.loseLocked() {
		p.count.DroppedLoss++
		p.lostLocked(pkt, txEnd.Add(p.dir.Delay))
		p.mu.Unlock()
		return false
	}
	due := txEnd.Add(p.dir.Delay)
	if p.dir.Jitter > 0 {
		due = due.Add(time.Duration(p.rng.Int64N(int64(p.dir.Jitter))))
	}
	if due.Before(p.last) {
		due = p.last
	}
	p.last = due
	wasEmpty := p.head == len(p.fifo)
	pk := pkt.take()
	pk.due = due
	p.fifo = append(p.fifo, pk)
	p.mu.Unlock()
	if wasEmpty {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// lostLocked tells the repairs of a packet the link dropped, which was due
// at the receiver at due.
func (p *pipe) lostLocked(pkt outbound, due time.Time) {
	var h [headLen]byte
	p.rep.lost(h[:pkt.head(h[:])], p.up, due)
}

// loseLocked draws whether the next packet is lost.
func (p *pipe) loseLocked() bool {
	loss := p.dir.Loss
	if loss == 0 {
		return false
	}
	if p.dir.Burst <= 1 {
		return p.rng.Float64() < loss
	}
	// Gilbert-Elliott: leave the bad state with r = 1/Burst, enter it with
	// p = Loss·r/(1-Loss), so that the bad state's share is Loss.
	r := 1 / p.dir.Burst
	if p.bad {
		p.bad = p.rng.Float64() >= r
	} else {
		p.bad = p.rng.Float64() < loss*r/(1-loss)
	}
	return p.bad
}

// run delivers packets in order when they are due.
func (p *pipe) run() {
	defer close(p.exit)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var batch []packet
	for {
		p.mu.Lock()
		if p.head == len(p.fifo) {
			p.fifo, p.head = p.fifo[:0], 0
			p.mu.Unlock()
			select {
			case <-p.wake:
				continue
			case <-p.done:
				return
			}
		}
		now := time.Now()
		if wait := p.fifo[p.head].due.Sub(now); wait > 0 {
			p.mu.Unlock()
			timer.Reset(wait)
			select {
			case <-timer.C:
				continue
			case <-p.done:
				return
			}
		}
		n := p.head
		for n < len(p.fifo) && !p.fifo[n].due.After(now) {
			n++
		}
		batch = append(batch[:0], p.fifo[p.head:n]...)
		clear(p.fifo[p.head:n])
		p.head = n
		p.mu.Unlock()
		p.deliver(batch)
	}
}

// deliver hands each packet to the receiving stack and records how late it
// was. Only run calls it, so late is its own.
func (p *pipe) deliver(batch []packet) {
	p.lateBuf = p.lateBuf[:0]
	for i := range batch {
		pk := &batch[i]
		now := time.Now()
		p.lateBuf = append(p.lateBuf, max(now.Sub(pk.due).Microseconds(), 0))
		if p.rep.anyOpen() {
			var h [headLen]byte
			p.rep.delivered(h[:pk.head(h[:])], p.up, now)
		}
		p.peer.deliver(pk)
		*pk = packet{}
	}
	p.mu.Lock()
	for _, l := range p.lateBuf {
		p.late.RecordValue(min(l, p.late.HighestTrackableValue())) // within bounds, cannot fail; beyond 10 minutes, counted at 10
	}
	p.count.Delivered += int64(len(batch))
	p.mu.Unlock()
}

// close stops delivery and releases the packets still on the link.
func (p *pipe) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.done)
	p.mu.Unlock()
	<-p.exit
	p.mu.Lock()
	for i := p.head; i < len(p.fifo); i++ {
		p.peer.discard(&p.fifo[i])
	}
	p.fifo, p.head = nil, 0
	p.mu.Unlock()
}

func (p *pipe) snapshot() (Counters, *hdrhistogram.Snapshot) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.count, p.late.Export()
}
