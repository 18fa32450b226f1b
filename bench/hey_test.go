package bench

import (
	"testing"
	"time"
)

func TestParseHeyCSV(t *testing.T) {
	t.Parallel()
	out := "response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,status-code,offset\n" +
		"0.0512,0.0003,0.0000,0.0000,0.0508,0.0001,200,0.0011\n0.0101,0.0000,0.0000,0.0000,0.0100,0.0000,503,0.0513\n"
	rows, err := parseHeyCSV([]byte(out))
	if err != nil || len(rows) != 2 || rows[0].latency != 51200*time.Microsecond || rows[1].status != 503 {
		t.Errorf("rows %+v, err %v", rows, err)
	}
	for _, bad := range []string{"1,2,3\n", "x,0,0,0,0,0,200,0\n", "0.1,0,0,0,0,0,ok,0\n", "-1,0,0,0,0,0,200,0\n"} {
		if _, err := parseHeyCSV([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// FuzzParseHeyCSV: hey's output is outside input; no line makes the reader
// panic, and what it accepts has a valid latency.
func FuzzParseHeyCSV(f *testing.F) {
	f.Add([]byte("response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,status-code,offset\n0.0512,0.0003,0.0000,0.0000,0.0508,0.0001,200,0.0011\n"))
	f.Add([]byte("1e308,0,0,0,0,0,200,0\n"))
	f.Add([]byte("NaN,0,0,0,0,0,99999999999999999999,0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, _ := parseHeyCSV(data)
		for _, r := range rows {
			if r.latency < 0 {
				t.Fatalf("negative latency %v", r.latency)
			}
		}
	})
}
