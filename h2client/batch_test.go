package h2client

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"testing/synctest"
)

// TestBatchConnKeepsOrderAndBounds: bytes written from many goroutines
// arrive whole and in the order of the Writes, and a Write that would grow
// the batch past maxBatch waits for the reader.
func TestBatchConnKeepsOrderAndBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server := net.Pipe()
		defer server.Close()
		b := newBatchConn(client)
		defer b.Close()
		// One batch goes out (the pipe holds it until read), the next
		// fills up, and a write beyond that must wait for the reader.
		big := bytes.Repeat([]byte{'x'}, maxBatch)
		if _, err := b.Write(big); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if _, err := b.Write(big); err != nil {
			t.Fatal(err)
		}
		wrote := make(chan struct{})
		go func() {
			b.Write([]byte("after"))
			close(wrote)
		}()
		synctest.Wait()
		select {
		case <-wrote:
			t.Fatal("a write past maxBatch did not wait")
		default:
		}
		got := make([]byte, 2*maxBatch+5)
		if _, err := io.ReadFull(server, got); err != nil {
			t.Fatal(err)
		}
		<-wrote
		if !bytes.Equal(got[:2*maxBatch], append(big, big...)) || string(got[2*maxBatch:]) != "after" {
			t.Fatal("bytes out of order")
		}
		// Concurrent writers: each one's bytes stay together, and one
		// writer's stay in order.
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for i := range 50 {
					b.Write([]byte{byte('a' + w), byte(i)})
				}
			})
		}
		buf := make([]byte, 4*50*2)
		done := make(chan error)
		go func() { _, err := io.ReadFull(server, buf); done <- err }()
		wg.Wait()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		next := map[byte]byte{}
		for i := 0; i < len(buf); i += 2 {
			if buf[i+1] != next[buf[i]] {
				t.Fatalf("writer %c: got %d, want %d", buf[i], buf[i+1], next[buf[i]])
			}
			next[buf[i]]++
		}
	})
}

// TestBatchConnErrors: once the socket fails, every Write fails with its
// error; after Close, with net.ErrClosed.
func TestBatchConnErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server := net.Pipe()
		b := newBatchConn(client)
		server.Close()
		b.Write([]byte("lost"))
		synctest.Wait()
		if _, err := b.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
			t.Errorf("after the peer closed: %v, want io.ErrClosedPipe", err)
		}
		b.Close()
		if _, err := b.Write([]byte("x")); err == nil {
			t.Error("a Write after Close succeeded")
		}
		c2, s2 := net.Pipe()
		defer s2.Close()
		b2 := newBatchConn(c2)
		b2.Close()
		if _, err := b2.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
			t.Errorf("after Close: %v, want net.ErrClosed", err)
		}
	})
}
