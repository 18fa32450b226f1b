package link

import (
	"math"
	"strings"
	"testing"

	"muxlab/results"
)

func TestParseRate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want int64
		err  string
	}{
		{"10Mbit/s", 10_000_000, ""}, {"1.5Mbps", 1_500_000, ""}, {"384kbit/s", 384_000, ""},
		{"1Gbit/s", 1_000_000_000, ""}, {" 9 mbit/s ", 9_000_000, ""}, {"64000", 64_000, ""},
		{"0", 0, "out of range"}, {"10MB/s", 0, "bits per second"}, {"fast", 0, "not a rate"},
		{"-1Mbit/s", 0, "out of range"}, {"1e30", 0, "out of range"}, {"NaN", 0, "not a rate"},
	} {
		got, err := ParseRate(tc.in)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("ParseRate(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseRate(%q) error %v; want one saying %q", tc.in, err, tc.err)
		}
	}
	for _, bps := range []int64{300, 384_000, 1_500_000, 10_000_000, 1_000_000_000} {
		if got, err := ParseRate(results.FormatRate(bps)); err != nil || got != bps {
			t.Errorf("ParseRate(results.FormatRate(%d)) = %d, %v", bps, got, err)
		}
	}
}

func TestParseLoss(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"3%", 0.03, true}, {"0.5%", 0.005, true}, {"0.03", 0.03, true}, {"0", 0, true},
		{"150%", 0, false}, {"100%", 0, false}, {"-1%", 0, false}, {"1", 0, false}, {"lots", 0, false},
	} {
		got, err := ParseLoss(tc.in)
		if (err == nil) != tc.ok || (tc.ok && math.Abs(got-tc.want) > 1e-12) {
			t.Errorf("ParseLoss(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"10Mbit/s", "1.5Mbps", "0", "10MB/s", "1e9bit/s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		bps, err := ParseRate(s)
		if err == nil && (bps < MinRate || bps > MaxRate) {
			t.Fatalf("ParseRate(%q) = %d, outside the bounds", s, bps)
		}
	})
}

func FuzzParseLoss(f *testing.F) {
	for _, s := range []string{"3%", "0.03", "100%", "-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseLoss(s)
		if err == nil && (v < 0 || v >= 1 || math.IsNaN(v)) {
			t.Fatalf("ParseLoss(%q) = %v", s, v)
		}
	})
}

// TestRateBoundsText: the bounds ParseRate's error names are MinRate and
// MaxRate, as results.FormatRate writes them.
func TestRateBoundsText(t *testing.T) {
	_, err := ParseRate("1bit/s")
	if err == nil || !strings.Contains(err.Error(), results.FormatRate(MinRate)) || !strings.Contains(err.Error(), results.FormatRate(MaxRate)) {
		t.Errorf("%v; want %s and %s", err, results.FormatRate(MinRate), results.FormatRate(MaxRate))
	}
}
