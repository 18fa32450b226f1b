package link

import "testing"

const snmpSample = `Ip: Forwarding DefaultTTL InReceives
Ip: 1 64 2096
Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors
Tcp: 1 200 120000 -1 7 5 0 0 2 1234 1300 17 0 3 0
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
Udp: 40 0 2 41 2 0 0 0 0
`

const netstatSample = `TcpExt: SyncookiesSent TCPLossProbes TCPLossProbeRecovery TCPTimeouts TCPFastRetrans TCPSpuriousRTOs
TcpExt: 0 44 9 21 30 2
IpExt: InNoRoutes InTruncatedPkts
IpExt: 0 0
`

func TestParseSNMP(t *testing.T) {
	t.Parallel()
	snmp, netstat := parseSNMP(snmpSample), parseSNMP(netstatSample)
	if got := snmp["Tcp.MaxConn"]; got != -1 {
		t.Errorf("Tcp.MaxConn = %d, want -1", got)
	}
	if got := snmp["Udp.RcvbufErrors"]; got != 2 {
		t.Errorf("Udp.RcvbufErrors = %d, want 2", got)
	}
	got := kernelTCP(snmp, netstat, true)
	want := TCP{Segments: 1300, Retransmits: 17, Timeouts: 21, FastRetransmits: 30, LossProbes: 44, ProbeRecoveries: 9, SpuriousRecoveries: 2, Connections: 7}
	if got != want {
		t.Errorf("client:\n got %+v\nwant %+v", got, want)
	}
	if got := kernelTCP(snmp, netstat, false).Connections; got != 5 {
		t.Errorf("server connections %d, want the 5 passive opens", got)
	}
	for _, tc := range []struct {
		text string
		want int // fields read
	}{
		{"", 0}, {"Tcp: A B\nTcp: 1", 0}, {"Tcp: A\nUdp: 1", 0}, {"Tcp: A B\nTcp: 1 x", 1}, {"Tcp: A\nTcp: 99999999999999999999", 0},
	} {
		if got := parseSNMP(tc.text); len(got) != tc.want {
			t.Errorf("%q: read %v, want %d fields", tc.text, got, tc.want)
		}
	}
}

func FuzzParseSNMP(f *testing.F) {
	f.Add(snmpSample)
	f.Add(netstatSample)
	f.Fuzz(func(t *testing.T, s string) {
		for k := range parseSNMP(s) {
			if k == "" {
				t.Fatal("an empty name")
			}
		}
	})
}
