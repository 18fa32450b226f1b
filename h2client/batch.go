package h2client

import (
	"net"
	"runtime"
	"sync"
)

// maxBatch is how many written bytes a batchConn gathers, beside the batch
// going out, before a Write waits: the backpressure a socket would give.
const maxBatch = 256 << 10

// batchConn sends the frames the wire writes in batches: one system call
// for the frames of every request that wrote while the previous batch was
// going out.
//
// Flushing each request's HEADERS on its own (as x/net's ClientConn, which
// h2client used before, did) made 100 write calls for 100 requests in
// flight where h2load makes one (pprof: a fifth of the h2 contender's CPU).
// Write copies into the batch and returns; one goroutine per connection
// writes the batches. Nothing is reordered, and a Write that would grow the
// batch past maxBatch waits until it is sent. A write error is returned by
// every Write after it, as a broken socket's would be; the wire then ends
// the connection.
type batchConn struct {
	net.Conn
	mu      sync.Mutex
	cond    sync.Cond // signalled when a batch has gone out, or on Close
	buf     []byte    // the batch being gathered
	sending bool      // the writer has a batch out or is about to take one
	err     error     // the first write error, or net.ErrClosed after Close
	wake    chan struct{}
}

func newBatchConn(nc net.Conn) *batchConn {
	b := &batchConn{Conn: nc, wake: make(chan struct{}, 1)}
	b.cond.L = &b.mu
	go b.writer()
	return b
}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.err == nil && len(b.buf) > 0 && len(b.buf)+len(p) > maxBatch {
		b.cond.Wait()
	}
	if b.err != nil {
		return 0, b.err
	}
	b.buf = append(b.buf, p...)
	if !b.sending {
		b.sending = true
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// writer sends the batches until the connection fails or closes.
func (b *batchConn) writer() {
	var out []byte
	for range b.wake {
		// Let the goroutines that are ready to write add to this batch
		// before it goes.
		runtime.Gosched()
		b.mu.Lock()
		for len(b.buf) > 0 && b.err == nil {
			out, b.buf = b.buf, out[:0]
			b.mu.Unlock()
			_, err := b.Conn.Write(out)
			b.mu.Lock()
			if err != nil && b.err == nil {
				b.err = err
			}
			b.cond.Broadcast()
		}
		b.sending = false
		stop := b.err != nil
		b.mu.Unlock()
		if stop {
			return
		}
	}
}

// Close closes the connection; what was not sent yet is dropped, as the
// socket's unsent bytes would be.
func (b *batchConn) Close() error {
	b.mu.Lock()
	if b.err == nil {
		b.err = net.ErrClosed
		close(b.wake)
	}
	b.cond.Broadcast()
	b.mu.Unlock()
	return b.Conn.Close()
}
