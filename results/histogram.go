package results

import (
	"errors"
	"fmt"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram bounds: values are recorded in microseconds, from 0 to one hour,
// with three significant digits (a relative error under 0.1%) above 1µs.
const (
	histMinUS  = 1
	histMaxUS  = int64(time.Hour / time.Microsecond)
	histDigits = 3
)

// Histogram records durations. It is not safe for concurrent use: each
// worker records into its own and they are merged at the end, so that the
// per-request path takes no lock.
//
// It is an HdrHistogram in its packed form, whose memory grows with the
// buckets in use (a few KiB for a latency distribution) rather than the 184
// KiB of a dense one: a run keeps several per worker, and may have
// thousands of workers.
type Histogram struct {
	h *hdrhistogram.PackedHistogram
	// outOfRange counts values below 0 or above an hour, recorded at the
	// nearer bound.
	outOfRange int64
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{h: hdrhistogram.NewPacked(histMinUS, histMaxUS, histDigits)}
}

// Record adds one duration, truncated to the microsecond. A value below 0 or
// above an hour is recorded at the nearer bound and counted in OutOfRange.
func (h *Histogram) Record(d time.Duration) {
	us := int64(d / time.Microsecond)
	if us < 0 || us > histMaxUS {
		h.outOfRange++
		us = min(max(us, 0), histMaxUS)
	}
	h.h.RecordValue(us) // cannot fail: us is within the bounds
}

// Merge adds every value of o.
func (h *Histogram) Merge(o *Histogram) {
	h.h.Merge(o.h)
	h.outOfRange += o.outOfRange
}

// OutOfRange counts the values recorded at a bound because they were beyond
// it.
func (h *Histogram) OutOfRange() int64 { return h.outOfRange }

// Count is the number of values recorded.
func (h *Histogram) Count() int64 { return h.h.TotalCount() }

// Quantile returns the value at quantile q (0 to 100).
func (h *Histogram) Quantile(q float64) time.Duration {
	return time.Duration(h.h.ValueAtPercentile(q)) * time.Microsecond
}

// Dist returns the plain-data summary of h, with h itself encoded in it.
func (h *Histogram) Dist() *Dist {
	d := &Dist{Count: h.h.TotalCount(), OutOfRange: h.outOfRange}
	if d.Count > 0 {
		ms := func(us int64) float64 { return float64(us) / 1000 }
		d.Mean = h.h.Mean() / 1000
		d.P50 = ms(h.h.ValueAtPercentile(50))
		d.P90 = ms(h.h.ValueAtPercentile(90))
		d.P99 = ms(h.h.ValueAtPercentile(99))
		d.P999 = ms(h.h.ValueAtPercentile(99.9))
		d.Max = ms(h.h.Max())
	}
	enc, err := h.h.Encode()
	if err == nil {
		d.HDR = string(enc)
	}
	return d
}

// Dist is the plain-data summary of a histogram: percentiles in
// milliseconds, and the histogram itself (HdrHistogram V2 compressed,
// base64, values in microseconds) so that it can be read back and merged.
type Dist struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p99_9_ms"`
	Max   float64 `json:"max_ms"`
	// OutOfRange counts values beyond the histogram's range (below 0 or
	// above an hour), which it holds at the nearer bound.
	OutOfRange int64  `json:"out_of_range,omitempty"`
	HDR        string `json:"hdr"`
}

// Histogram decodes the histogram kept in d.
func (d *Dist) Histogram() (*Histogram, error) {
	if d == nil || d.HDR == "" {
		return nil, errors.New("results: distribution has no histogram")
	}
	h, err := hdrhistogram.DecodePacked([]byte(d.HDR))
	if err != nil {
		return nil, fmt.Errorf("results: decoding histogram: %w", err)
	}
	return &Histogram{h: h, outOfRange: d.OutOfRange}, nil
}
