package bench_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"muxlab/bench"
	"muxlab/results"
)

// BenchmarkPage loads pages of objects through each client against an
// in-process mux server and reports the page time and the server's count of
// connections. Each iteration is one page.
//
//	go test -run '^$' -bench Page ./bench | benchstat -
func BenchmarkPage(b *testing.B) {
	for _, client := range []string{bench.H1, bench.H2} {
		b.Run(fmt.Sprintf("client=%s/objects=100/delay=50ms", client), func(b *testing.B) {
			sc := scenario(b, "page", func(s *results.Scenario) {
				s.Objects, s.Delay, s.Rounds, s.Warmup = 100, results.Duration(50*time.Millisecond), 1, 1
				s.Pages = b.N
			})
			reportMetrics(b, run(b, context.Background(), embedded(b, sc, client)))
		})
	}
}

// BenchmarkThroughput sends tiny /hello requests, 100 in flight, through
// each client. Each iteration is one request.
func BenchmarkThroughput(b *testing.B) {
	for _, client := range []string{bench.H1, bench.H2} {
		b.Run(fmt.Sprintf("client=%s/inflight=100", client), func(b *testing.B) {
			sc := scenario(b, "throughput", func(s *results.Scenario) {
				s.Requests, s.Rounds, s.Warmup = max(b.N, 100), 1, 100
			})
			reportMetrics(b, run(b, context.Background(), embedded(b, sc, client)))
		})
	}
}

// reportMetrics turns a run's figures into benchmark metrics. The benchmark's own
// ns/op is wall time per iteration and includes the round's set-up.
func reportMetrics(b *testing.B, r *results.Run) {
	t := r.Contenders[0].Total
	if t.Failed > 0 || t.OK == 0 {
		b.Fatalf("%d failed, %d ok: %v", t.Failed, t.OK, t.Errors)
	}
	d := t.Latency
	if t.Page != nil && t.Page.Count > 0 {
		d = t.Page
	}
	b.ReportMetric(d.P50, "p50-ms")
	b.ReportMetric(d.P99, "p99-ms")
	b.ReportMetric(t.Throughput, "req/s")
	if t.Server != nil {
		b.ReportMetric(float64(t.Server.ConnectionsAccepted), "conns")
	}
}
