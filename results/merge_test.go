package results_test

import (
	"strings"
	"testing"

	"muxlab/internal/resultstest"
	"muxlab/results"
)

// Merging two agents' runs sums the counts and connections and merges the
// histograms: the merged p99 is the p99 of every request.
func TestMerge(t *testing.T) {
	a, b := resultstest.Sample(), resultstest.Sample()
	a.Agent, b.Agent = "agent-0", "agent-1"
	m, err := results.Merge([]*results.Run{a, b}, []string{"a.json", "b.json"})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range m.Contenders {
		ta, tb, tm := a.Contenders[i].Total, b.Contenders[i].Total, c.Total
		if tm.OK != ta.OK+tb.OK || tm.Sent != ta.Sent+tb.Sent || tm.Failed != ta.Failed+tb.Failed {
			t.Errorf("%s: ok %d, sent %d; want %d, %d", c.Name, tm.OK, tm.Sent, ta.OK+tb.OK, ta.Sent+tb.Sent)
		}
		h := results.NewHistogram()
		for _, r := range []*results.Run{a, b} {
			for _, rd := range r.Contenders[i].Rounds {
				x, err := rd.Latency.Histogram()
				if err != nil {
					t.Fatal(err)
				}
				h.Merge(x)
			}
		}
		if got, want := tm.Latency.P99, h.Dist().P99; got != want {
			t.Errorf("%s: merged p99 %v, p99 of every request %v", c.Name, got, want)
		}
		if tm.Server.ConnectionsAccepted != ta.Server.ConnectionsAccepted+tb.Server.ConnectionsAccepted ||
			tm.Client.Dials != ta.Client.Dials+tb.Client.Dials {
			t.Errorf("%s: server %d, client %d connections; want the sums", c.Name, tm.Server.ConnectionsAccepted, tm.Client.Dials)
		}
	}
	if len(m.Agents) != 2 || m.Agents[1].Name != "agent-1" || m.Agent != "merged" || m.Verdict == "" {
		t.Errorf("agents %+v, verdict %q", m.Agents, m.Verdict)
	}
}

func TestMergeRefuses(t *testing.T) {
	other := resultstest.Sample()
	other.Scenario.Objects = 99
	net := resultstest.SampleOverLink()
	named := resultstest.Sample()
	named.Agent = "x"
	named2 := resultstest.Sample()
	named2.Agent = "x"
	for _, tc := range []struct {
		runs []*results.Run
		want string
	}{
		{[]*results.Run{resultstest.Sample(), other}, "scenario \"page\" against \"page\""},
		{[]*results.Run{resultstest.Sample(), net}, "network loopback"},
		{[]*results.Run{named, named2}, "both agent \"x\""},
		{[]*results.Run{resultstest.Sample()}, "two runs or more"},
	} {
		files := []string{"a.json", "b.json"}[:len(tc.runs)]
		if _, err := results.Merge(tc.runs, files); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v; want %q", err, tc.want)
		}
	}
}
