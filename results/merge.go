package results

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

// AgentRun is one agent's part of a merged run: its name, file, and each
// contender's own totals, kept beside the merged figures.
type AgentRun struct {
	Name       string       `json:"name"`
	File       string       `json:"file"`
	Started    time.Time    `json:"started"`
	Contenders []AgentTotal `json:"contenders"`
}

// AgentTotal is one contender's totals on one agent.
type AgentTotal struct {
	Name        string  `json:"name"`
	OK          int64   `json:"ok"`
	Sent        int64   `json:"sent"`
	LatencyP99  float64 `json:"latency_p99_ms"`
	ServerConns int64   `json:"server_connections"`
}

// Merge makes one run of several agents' runs of the same scenario,
// network and contenders: round by round, counts are summed and
// histograms merged (so the merged p99 is the p99 of every request),
// connections summed on both sides; each agent's totals are kept in
// Agents. names name the agents (their files when they have no name of
// their own); they must differ.
func Merge(runs []*Run, files []string) (*Run, error) {
	if len(runs) < 2 || len(files) != len(runs) {
		return nil, errors.New("results: merge needs two runs or more")
	}
	first := runs[0]
	seen := map[string]string{}
	for i, r := range runs {
		if r.Sweep != nil {
			return nil, fmt.Errorf("results: %s is a sweep: merge runs, not sweeps", files[i])
		}
		name := agentName(r, files[i])
		if prev, ok := seen[name]; ok {
			return nil, fmt.Errorf("results: %s and %s are both agent %q: give each agent its own --agent name", prev, files[i], name)
		}
		seen[name] = files[i]
		if i == 0 {
			continue
		}
		if d := differs(first, r); d != "" {
			return nil, fmt.Errorf("results: %s and %s are not runs of the same thing: %s", files[0], files[i], d)
		}
	}
	m := NewRun(first.Tool.Version, first.Tool.GoVersion, first.Machine, first.Started)
	m.Scenario, m.Network, m.Target, m.Baseline = first.Scenario, first.Network, first.Target, first.Baseline
	m.Agent = "merged"
	for ci, c := range first.Contenders {
		mc := Contender{Name: c.Name, Label: c.Label, Protocol: c.Protocol, Listener: c.Listener, Conns: c.Conns, Reference: c.Reference}
		for ri := range c.Rounds {
			var rs []Round
			for _, r := range runs {
				if ri < len(r.Contenders[ci].Rounds) {
					rs = append(rs, r.Contenders[ci].Rounds[ri])
				}
			}
			rd, err := mergeRounds(rs)
			if err != nil {
				return nil, fmt.Errorf("results: %s round %d: %w", c.Name, c.Rounds[ri].Round, err)
			}
			rd.Round, rd.Position = c.Rounds[ri].Round, c.Rounds[ri].Position
			mc.Rounds = append(mc.Rounds, rd)
		}
		m.Contenders = append(m.Contenders, mc)
	}
	for i, r := range runs {
		a := AgentRun{Name: agentName(r, files[i]), File: files[i], Started: r.Started}
		for _, c := range r.Contenders {
			t := AgentTotal{Name: c.Name, OK: c.Total.OK, Sent: c.Total.Sent}
			if c.Total.Latency != nil {
				t.LatencyP99 = c.Total.Latency.P99
			}
			if c.Total.Server != nil {
				t.ServerConns = c.Total.Server.ConnectionsAccepted
			}
			a.Contenders = append(a.Contenders, t)
		}
		m.Agents = append(m.Agents, a)
		m.Finished = maxTime(m.Finished, r.Finished)
		m.Interrupted = m.Interrupted || r.Interrupted
		m.Started = minTime(m.Started, r.Started)
	}
	m.Notes = append(m.Notes, fmt.Sprintf("merged from %d agents: counts summed, histograms merged, connections summed on both sides", len(runs)))
	Summarize(m)
	return m, nil
}

func agentName(r *Run, file string) string {
	if r.Agent != "" {
		return r.Agent
	}
	return file
}

// differs names what makes b not a run of a's scenario, network and
// contenders; "" when nothing does.
func differs(a, b *Run) string {
	switch {
	case a.SchemaVersion != b.SchemaVersion:
		return fmt.Sprintf("schema_version %d against %d", a.SchemaVersion, b.SchemaVersion)
	case !reflect.DeepEqual(scenarioKey(a.Scenario), scenarioKey(b.Scenario)):
		return fmt.Sprintf("scenario %q against %q (or its figures differ)", a.Scenario.Name, b.Scenario.Name)
	case !sameNetwork(a.Network, b.Network):
		return fmt.Sprintf("network %s against %s", a.Network.Describe(), b.Network.Describe())
	}
	names := func(r *Run) []string {
		var out []string
		for _, c := range r.Contenders {
			out = append(out, fmt.Sprintf("%s/%d", c.Name, len(c.Rounds)))
		}
		return out
	}
	if na, nb := names(a), names(b); !slices.Equal(na, nb) {
		return fmt.Sprintf("contenders (with rounds) %s against %s", strings.Join(na, ", "), strings.Join(nb, ", "))
	}
	return ""
}

// scenarioKey is the scenario without its summary, which flags annotate.
func scenarioKey(s Scenario) Scenario {
	s.Summary = ""
	return s
}

// mergeRounds adds up one round of several agents.
func mergeRounds(rs []Round) (Round, error) {
	c := Contender{Rounds: rs}
	t, err := total(&c)
	if err != nil {
		return Round{}, err
	}
	var client *ClientConns
	var server *ServerConns
	var elapsed Duration
	for _, rd := range rs {
		elapsed = max(elapsed, rd.Elapsed) // the agents ran at once
		if rd.Client != nil {
			if client == nil {
				client = &ClientConns{}
			}
			client.Dials += rd.Client.Dials
			client.WarmupDials += rd.Client.WarmupDials
			client.Reconnects += rd.Client.Reconnects
			client.ConnsPeak += rd.Client.ConnsPeak
			client.InFlightPeak += rd.Client.InFlightPeak
			client.RequestsPerConn = append(client.RequestsPerConn, rd.Client.RequestsPerConn...)
		}
		if rd.Server != nil {
			if server == nil {
				server = &ServerConns{Listener: rd.Server.Listener}
			}
			server.ConnectionsAccepted += rd.Server.ConnectionsAccepted
			server.ConnectionsIdle += rd.Server.ConnectionsIdle
			server.Requests += rd.Server.Requests
			server.PeakInFlightPerConn = max(server.PeakInFlightPerConn, rd.Server.PeakInFlightPerConn)
		}
	}
	t.Client, t.Server, t.Elapsed = client, server, elapsed
	if secs := elapsed.D().Seconds(); secs > 0 {
		t.Throughput = float64(t.OK) / secs
	}
	return t, nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// sameNetwork: the same conditions; the round trip each agent measured to
// the server may differ.
func sameNetwork(a, b Network) bool {
	a.MeasuredRTTMS, b.MeasuredRTTMS = 0, 0
	return reflect.DeepEqual(a, b)
}
