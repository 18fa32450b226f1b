// Package limits holds the bounds of the mux demo server's query parameters,
// in one place for the server that enforces them and for the harness that
// checks a scenario against them before it sends anything. It imports
// nothing, so that importing it brings in no server.
package limits

import "time"

// Bounds of the demo server's parameters.
const (
	MaxDelay = 30 * time.Second // delay and jitter of /echo and /tile
	MaxSize  = 64 << 20         // bytes of one /echo or /tile body, and of an /upload
)
