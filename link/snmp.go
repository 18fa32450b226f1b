package link

import "strings"

// parseSNMP reads the kernel's /proc/net/snmp or /proc/net/netstat: pairs
// of lines, a header naming the fields after a prefix ("Tcp:") and a line
// of their values after the same prefix. It returns "Prefix.Field" to
// value; a field whose value is not a number is left out.
func parseSNMP(text string) map[string]int64 {
	out := map[string]int64{}
	lines := strings.Split(text, "\n")
	for i := 0; i+1 < len(lines); i++ {
		names, values := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(names) < 2 || len(names) != len(values) || names[0] != values[0] || !strings.HasSuffix(names[0], ":") {
			continue
		}
		prefix := strings.TrimSuffix(names[0], ":")
		for j := 1; j < len(names); j++ {
			if v, ok := parseCount(values[j]); ok {
				out[prefix+"."+names[j]] = v
			}
		}
		i++
	}
	return out
}

// parseCount reads a decimal count, which may be negative (Tcp.MaxConn is -1).
func parseCount(s string) (int64, bool) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var v int64
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
		v = v*10 + int64(r-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// kernelTCP picks the link's TCP counts out of a namespace's snmp and
// netstat: the client's connections are its active opens, the server's its
// passive ones.
func kernelTCP(snmp, netstat map[string]int64, active bool) TCP {
	conns := snmp["Tcp.PassiveOpens"]
	if active {
		conns = snmp["Tcp.ActiveOpens"]
	}
	return TCP{
		Segments: snmp["Tcp.OutSegs"], Retransmits: snmp["Tcp.RetransSegs"],
		Timeouts: netstat["TcpExt.TCPTimeouts"], FastRetransmits: netstat["TcpExt.TCPFastRetrans"],
		LossProbes: netstat["TcpExt.TCPLossProbes"], ProbeRecoveries: netstat["TcpExt.TCPLossProbeRecovery"],
		SpuriousRecoveries: netstat["TcpExt.TCPSpuriousRTOs"], Connections: conns,
	}
}
