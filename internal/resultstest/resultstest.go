// Package resultstest builds result runs with known figures for the tests
// of the packages that read them.
package resultstest

import (
	"time"

	"muxlab/results"
)

// Sample builds a small run of the page scenario with known figures: h1
// (the baseline, six connections) and h2 (one), two rounds each.
func Sample() *results.Run {
	start := time.Date(2026, 11, 23, 20, 15, 0, 0, time.UTC)
	r := results.NewRun("test", "go1.26", results.Machine{OS: "linux", Arch: "amd64", CPUs: 2, GOMAXPROCS: 2}, start)
	r.Finished = start.Add(time.Minute)
	r.Scenario = results.Scenario{Name: "page", Summary: "a page", Mode: results.Page, Endpoint: "/tile/{n}",
		Delay: results.Duration(50 * time.Millisecond), Objects: 12, Pages: 2, Rounds: 2, Warmup: 1, Conns: 6}
	r.Target = results.Target{URLs: map[string]string{"h1": "http://127.0.0.1:8080", "h2c": "http://127.0.0.1:8081"},
		Embedded: true, GroundTruth: "in process", CPUScope: "client + embedded server"}
	r.Network = results.Network{Profile: "loopback", Source: "none: the kernel's loopback"}
	r.Baseline = "h1"
	mk := func(name, label string, pageMS, conns int64) results.Contender {
		c := results.Contender{Name: name, Label: label, Listener: map[string]string{"h1": "h1", "h2": "h2c"}[name], Conns: int(conns)}
		turns := map[string]int{"h1": 2, "h2": 1}[name]
		for round := 1; round <= 2; round++ {
			lat, page, wait, svc := results.NewHistogram(), results.NewHistogram(), results.NewHistogram(), results.NewHistogram()
			for i := range 24 {
				lat.Record(time.Duration(pageMS/2+int64(i)) * time.Millisecond)
				wait.Record(time.Duration(pageMS/2-25+int64(i)) * time.Millisecond)
				svc.Record(50 * time.Millisecond)
			}
			page.Record(time.Duration(pageMS+int64(round)) * time.Millisecond)
			page.Record(time.Duration(pageMS+int64(round)) * time.Millisecond)
			var timings []results.Timing
			for obj := range 12 {
				conn := uint64(1 + obj%int(conns))
				sent := int64(obj/int(conns)) * pageMS * 1000 / 2
				timings = append(timings, results.Timing{Object: obj, Conn: conn, SentUS: sent, EndUS: sent + pageMS*500, Status: 200})
			}
			c.Rounds = append(c.Rounds, results.Round{Round: round, Elapsed: results.Duration(time.Second), Sample: timings,
				Scheduled: 25, Sent: 25, CPU: results.Duration(12 * time.Millisecond), CPUPerReqUS: 500, OK: 24, Failed: 1, Statuses: map[string]int64{"200": 24, "503": 1}, Errors: map[string]int64{"status 503": 1},
				Throughput: 24, Latency: lat.Dist(), Page: page.Dist(), Wait: wait.Dist(), Service: svc.Dist(),
				Client: &results.ClientConns{Dials: conns}, Server: &results.ServerConns{Listener: name, ConnectionsAccepted: conns},
				Model: &results.Model{Turns: turns, RTT: results.Duration(100 * time.Microsecond), TurnTime: results.Duration(50 * time.Millisecond),
					Predicted: results.Duration(time.Duration(turns) * 50 * time.Millisecond)}})
		}
		return c
	}
	r.Contenders = []results.Contender{mk("h1", "h1 (6 connections)", 100, 6), mk("h2", "h2 (1 connection)", 50, 1)}
	results.Summarize(r)
	return r
}

// SampleOverLink is Sample run over an emulated link: the network's
// conditions, and each round's link truth, the emulator behind its schedule
// in h2's second round.
func SampleOverLink() *results.Run {
	r := Sample()
	r.Network = results.Network{Profile: "custom", Emulated: true, RTTMS: 40, DownBPS: 10_000_000, UpBPS: 10_000_000,
		Loss: 0.03, QueueBytes: 125_000, UpQueueBytes: 125_000, CongestionControl: "cubic", Seed: 1}
	for i := range r.Contenders {
		for j := range r.Contenders[i].Rounds {
			rd := &r.Contenders[i].Rounds[j]
			rd.Link = &results.Link{Packets: 1000, Bytes: 1_000_000, DroppedLoss: 30, DroppedQueue: 2, Retransmits: 31, Timeouts: 1,
				LateP99MS: 0.5, LateMaxMS: 1.5,
				Up:   results.LinkDirection{Packets: 400, Bytes: 20_000, DroppedLoss: 12},
				Down: results.LinkDirection{Packets: 600, Bytes: 980_000, DroppedLoss: 18, DroppedQueue: 2}}
			if i == 1 && j == 1 {
				rd.Link.LateP99MS, rd.Link.LateMaxMS, rd.Link.Behind = 9, 30, true
			}
		}
	}
	results.Summarize(r)
	return r
}

// SampleWithBrowser is Sample with a browser contender beside h2:
// chromium-h2, a reference whose pages take 10% longer than h2's, with its
// own timings of them (a machine busy before its second round) and a
// sampled page whose connections it does not name.
func SampleWithBrowser() *results.Run {
	r := Sample()
	r.Contenders[1].Protocol = "HTTP/2"
	br := r.Contenders[1]
	br.Name, br.Label, br.Reference, br.Counterpart = "chromium-h2", "chromium-h2 (1 connection)", true, "h2"
	br.Rounds = nil
	for j, rd := range r.Contenders[1].Rounds {
		page := results.NewHistogram()
		page.Record(time.Duration(float64(rd.Page.P50)*1.1) * time.Millisecond)
		page.Record(time.Duration(float64(rd.Page.P50)*1.1) * time.Millisecond)
		rd.Page, rd.Client, rd.Model = page.Dist(), nil, nil
		rd.Sample = nil
		for obj := range 12 {
			rd.Sample = append(rd.Sample, results.Timing{Object: obj, StartUS: 5000, SentUS: 8000, EndUS: 50000 + int64(obj)*500, Status: 200})
		}
		rd.Browser = &results.Browser{Pages: 2, FirstRequest: results.Duration(16 * time.Millisecond), Network: results.Duration(90 * time.Millisecond),
			Idle: results.Duration(4 * time.Millisecond), AfterLastByte: results.Duration(6 * time.Millisecond),
			CPUStall: results.Duration(300 * time.Millisecond), Wall: results.Duration(time.Second), CPUStallKnown: true,
			QuietWall: results.Duration(500 * time.Millisecond), QuietStall: results.Duration(time.Duration(j) * 150 * time.Millisecond)}
		br.Rounds = append(br.Rounds, rd)
	}
	r.Contenders = append(r.Contenders, br)
	results.Summarize(r)
	return r
}
