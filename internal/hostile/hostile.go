// Package hostile serves the misbehaving peers that muxlab's clients,
// harness and sidecar are tested against: servers that never end a header
// block or a body, drip a byte at a time, declare a length they do not keep,
// or, over HTTP/2, go away or send bad SETTINGS in the middle of a page.
//
// Every server answers /hello and /ok with a plain "ok" (so that a run's
// probe and a page's ordinary objects succeed) and misbehaves on the paths
// below. Each misbehaviour is bounded in bytes and time (Budget, Lifetime),
// so a test whose client never stops reading still ends, and stops when the
// client goes away or the server is closed.
package hostile

import (
	"bytes"
	"runtime/metrics"
	"time"
)

// The paths a hostile server misbehaves on.
const (
	// PathOK answers 200 with the two bytes "ok".
	PathOK = "/ok"
	// PathEndlessHead starts a response and never ends its header block:
	// field after field (HTTP/2: CONTINUATION after CONTINUATION).
	PathEndlessHead = "/endless-head"
	// PathLongLine starts a response whose first field is one line that
	// never ends (HTTP/1.1 only; HTTP/2 and HTTP/3 send PathEndlessHead).
	PathLongLine = "/long-line"
	// PathEndlessBody answers 200 with a body of no declared length that
	// never ends.
	PathEndlessBody = "/endless-body"
	// PathDrip declares 100 bytes and sends one every DripEvery.
	PathDrip = "/drip"
	// PathShort declares 100 bytes, sends 10 and ends the response (HTTP/1.1:
	// closes the connection; HTTP/2: ends the stream).
	PathShort = "/short"
	// PathLong declares 2 bytes and sends 20 (HTTP/1.1: the excess is
	// garbage where the next response should start).
	PathLong = "/long"
	// PathGoAway answers, then sends GOAWAY naming this stream as the last
	// one processed (HTTP/2), or answers with "Connection: close" and closes
	// (HTTP/1.1).
	PathGoAway = "/goaway"
	// PathRefuse sends GOAWAY naming the stream before this one as the
	// last processed, and never answers: the request was refused unseen
	// (HTTP/2 only).
	PathRefuse = "/refuse"
	// PathBadSettings sends SETTINGS with an initial window beyond 2^31-1,
	// a connection error (HTTP/2 only; HTTP/1.1 answers garbage).
	PathBadSettings = "/bad-settings"
)

// Bounds of every misbehaviour.
const (
	// Budget is the most bytes one endless head or body sends: more than
	// any loopback carries within a test's deadline (512 MiB crossed in
	// under 300 ms here, and an "endless" body ended before its deadline),
	// so that Lifetime and the client's own bounds are what end it.
	Budget = 16 << 30
	// Lifetime is the longest one misbehaviour goes on.
	Lifetime = 30 * time.Second
	// DripEvery is the pause between the bytes of PathDrip.
	DripEvery = 50 * time.Millisecond
)

// fieldLine is one line of an endless head: 1 KiB of a field.
var fieldLine = append(append([]byte("X-Flood: "), bytes.Repeat([]byte("a"), 1024-len("X-Flood: ")-2)...), '\r', '\n')

// filler is what long lines and endless bodies are made of.
var filler = bytes.Repeat([]byte("b"), 16<<10)

// PeakHeap runs f and returns the most bytes of heap objects (live or not
// yet collected) the process held while it ran, sampled every millisecond:
// what a peer made the process hold, for an assertion with a generous
// bound, never a timing.
func PeakHeap(f func()) uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	peak := read()
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				peak = max(peak, read())
			}
		}
	}()
	f()
	close(done)
	<-stopped
	return max(peak, read())
}

// route is the path whose misbehaviour answers a request for path: every,
// when set, for all but the probe's /hello.
func route(path, every string) string {
	if every != "" && path != "/hello" {
		return every
	}
	return path
}
