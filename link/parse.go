package link

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// rateUnits are the bandwidth units ParseRate accepts, bits per second.
var rateUnits = []struct {
	suffix string
	bits   float64
}{
	{"gbit/s", 1e9}, {"gbps", 1e9}, {"mbit/s", 1e6}, {"mbps", 1e6},
	{"kbit/s", 1e3}, {"kbps", 1e3}, {"bit/s", 1}, {"bps", 1},
}

// ParseRate reads a bandwidth such as "10Mbit/s", "1.5Mbps", "384kbit/s"
// or "1Gbit/s" (bits per second; a bare number is bits per second too).
// Byte units ("MB/s") are refused, for their ambiguity. The rate must be
// from MinRate to MaxRate.
func ParseRate(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := 1.0
	for _, u := range rateUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.bits
			break
		}
	}
	if strings.HasSuffix(t, "b/s") || strings.HasSuffix(t, "bytes/s") {
		return 0, fmt.Errorf("link: bandwidth %q: give bits per second, like 10Mbit/s", s)
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("link: bandwidth %q is not a rate like 10Mbit/s, 1.5Mbps or 384kbit/s", s)
	}
	bits := v * mult
	if bits < MinRate || bits > MaxRate {
		return 0, fmt.Errorf("link: bandwidth %q is out of range; allowed 300bit/s to 100Gbit/s", s) // MinRate, MaxRate: TestRateBoundsText
	}
	return int64(bits), nil
}

// ParseLoss reads a loss rate: "3%", "0.5%" or a fraction like "0.03". It
// must be from 0 to less than 100%.
func ParseLoss(s string) (float64, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(t, "%")), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("link: loss %q is not a rate like 3%% or 0.03", s)
	}
	if pct {
		v /= 100
	}
	if v < 0 || v >= 1 {
		return 0, fmt.Errorf("link: loss %q is out of range; allowed 0 to less than 100%%", s)
	}
	return v, nil
}
