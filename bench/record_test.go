package bench

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"muxlab/roundtrip"
)

// BenchmarkRecord measures the harness's own work per request: classifying
// the outcome and recording its latency, wait and service times.
func BenchmarkRecord(b *testing.B) {
	rec := newRecorder()
	o := outcome{status: 200, latency: 3 * time.Millisecond, wait: time.Millisecond, service: 2 * time.Millisecond}
	b.ReportAllocs()
	for b.Loop() {
		rec.record(&o)
	}
	if rec.ok != int64(b.N) || rec.sent != int64(b.N) {
		b.Fatalf("recorded %d ok of %d sent, want %d", rec.ok, rec.sent, b.N)
	}
}

func TestRecordAllocatesNothingOnSuccess(t *testing.T) {
	rec := newRecorder()
	o := outcome{status: 200, latency: 3 * time.Millisecond, wait: time.Millisecond, service: 2 * time.Millisecond}
	if n := testing.AllocsPerRun(1000, func() { rec.record(&o) }); n != 0 {
		t.Errorf("record allocates %.1f times per request, want 0", n)
	}
}

func TestRecordClassifies(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	for _, o := range []outcome{
		{status: 200, class: classFast}, {status: 204}, {status: 503}, {status: 404},
		{err: fmt.Errorf("h2client: GET /: %w: %w", roundtrip.ErrStreamReset, http2.StreamError{StreamID: 3, Code: http2.ErrCodeCancel})},
		{err: errors.New("x"), canceled: true},
	} {
		rec.record(&o)
	}
	if rec.sent != 6 || rec.ok != 2 || rec.failed != 3 || rec.canceled != 1 {
		t.Errorf("sent %d ok %d failed %d cancelled %d", rec.sent, rec.ok, rec.failed, rec.canceled)
	}
	want := map[string]int64{"status 503": 1, "status 404": 1, "stream reset": 1}
	for k, n := range want {
		if rec.errs[k] != n {
			t.Errorf("errors[%q] = %d, want %d (all: %v)", k, rec.errs[k], n, rec.errs)
		}
	}
	if rec.statuses[200] != 1 || rec.statuses[503] != 1 || rec.classes[classFast].Count() != 1 {
		t.Error("statuses or classes not counted")
	}
}
