package report

import (
	"encoding/csv"
	"io"
	"strconv"

	"muxlab/results"
)

// csvHeader names the columns of WriteCSV; times are milliseconds.
var csvHeader = []string{"contender", "protocol", "round", "interrupted", "sent", "ok", "failed", "cancelled", "throughput_rps",
	"page_p50_ms", "page_p99_ms", "latency_p50_ms", "latency_p90_ms", "latency_p99_ms", "latency_max_ms",
	"wait_p50_ms", "service_p50_ms", "client_conns", "server_conns", "server_conns_idle"}

// WriteCSV prints the run as CSV: a header, then a row per contender per
// round and one for all its rounds ("total"); an empty cell is a figure
// the round does not have.
func WriteCSV(w io.Writer, r *results.Run) error {
	cw := csv.NewWriter(w)
	cw.Write(csvHeader)
	ms := func(d *results.Dist, pick func(*results.Dist) float64) string {
		if d == nil || d.Count == 0 {
			return ""
		}
		return strconv.FormatFloat(pick(d), 'f', 3, 64)
	}
	p50 := func(d *results.Dist) float64 { return d.P50 }
	p90 := func(d *results.Dist) float64 { return d.P90 }
	p99 := func(d *results.Dist) float64 { return d.P99 }
	maxOf := func(d *results.Dist) float64 { return d.Max }
	for i := range r.Contenders {
		c := &r.Contenders[i]
		rows := append([]results.Round(nil), c.Rounds...)
		rows = append(rows, c.Total)
		for k, rd := range rows {
			round := strconv.Itoa(rd.Round)
			if k == len(rows)-1 {
				round = "total"
			}
			client, server, idle := "", "", ""
			if rd.Client != nil {
				client = strconv.FormatInt(rd.Client.Dials, 10)
			}
			if rd.Server != nil {
				server, idle = strconv.FormatInt(rd.Server.ConnectionsAccepted, 10), strconv.FormatInt(rd.Server.ConnectionsIdle, 10)
			}
			cw.Write([]string{c.Name, c.Protocol, round, strconv.FormatBool(rd.Interrupted), strconv.FormatInt(rd.Sent, 10),
				strconv.FormatInt(rd.OK, 10), strconv.FormatInt(rd.Failed, 10), strconv.FormatInt(rd.Cancelled, 10),
				strconv.FormatFloat(rd.Throughput, 'f', 2, 64), ms(rd.Page, p50), ms(rd.Page, p99),
				ms(rd.Latency, p50), ms(rd.Latency, p90), ms(rd.Latency, p99), ms(rd.Latency, maxOf),
				ms(rd.Wait, p50), ms(rd.Service, p50), client, server, idle})
		}
	}
	cw.Flush()
	return cw.Error()
}
