package results

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// A Threshold is a condition a run must not meet, in the spirit of k6's
// thresholds: "failed>0", "h2/h1 page p50>0.8", "h2 latency p99>=250".
// It reads [CONTENDER[/OTHER] ]FIGURE OP NUMBER, where FIGURE is
// "failed" (requests) or one of the comparable figures (page p50, page
// p99, latency p50, latency p99, fast latency p99 in milliseconds,
// throughput in requests per second, server connections), OP one of >,
// >=, <, <=, and NUMBER a plain number (ms, x, req/s and % suffixes are
// allowed and ignored, but % divides by 100 for a ratio). CONTENDER/OTHER
// compares a figure of two contenders, as the ratio columns do; a bare
// FIGURE holds for every contender but the references.
type Threshold struct {
	Expr       string  `json:"expr"`
	Contender  string  `json:"contender,omitempty"`
	Other      string  `json:"other,omitempty"`
	Figure     string  `json:"figure"`
	Op         string  `json:"op"`
	Value      float64 `json:"value"`
	Missed     bool    `json:"missed"`
	Why        string  `json:"why,omitempty"`
	NotChecked bool    `json:"not_checked,omitempty"`
}

// ErrThreshold is the error of a threshold that cannot be read.
var ErrThreshold = errors.New("not a threshold")

// thresholdFigures are the figures a threshold may name.
func thresholdFigures() []string {
	out := []string{"failed"}
	for _, f := range figures {
		out = append(out, f.name)
	}
	return out
}

// ParseThreshold reads a threshold.
func ParseThreshold(expr string) (Threshold, error) {
	t := Threshold{Expr: strings.TrimSpace(expr)}
	s := t.Expr
	i := strings.IndexAny(s, "<>")
	if i < 0 {
		return t, fmt.Errorf("%w: %q has no comparison (>, >=, <, <=), e.g. 'failed>0' or 'h2/h1 page p50>0.8'", ErrThreshold, expr)
	}
	left, right := strings.TrimSpace(s[:i]), s[i:]
	t.Op = right[:1]
	if strings.HasPrefix(right[1:], "=") {
		t.Op += "="
	}
	num := strings.TrimSpace(right[len(t.Op):])
	scale := 1.0
	for _, suf := range []string{"ms", "req/s", "x", "%"} {
		if v, ok := strings.CutSuffix(num, suf); ok {
			num = strings.TrimSpace(v)
			if suf == "%" {
				scale = 0.01
			}
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return t, fmt.Errorf("%w: %q: %q is not a number", ErrThreshold, expr, num)
	}
	t.Value = v * scale
	for _, f := range thresholdFigures() {
		if left == f || strings.HasSuffix(left, " "+f) {
			t.Figure = f
			who := strings.TrimSpace(strings.TrimSuffix(left, f))
			if who != "" {
				t.Contender, t.Other, _ = strings.Cut(who, "/")
				if strings.ContainsAny(t.Contender+t.Other, " ") || t.Contender == "" || strings.Contains(who, "/") && t.Other == "" {
					return t, fmt.Errorf("%w: %q: %q is not a contender or CONTENDER/OTHER", ErrThreshold, expr, who)
				}
			}
			break
		}
	}
	if t.Figure == "" {
		return t, fmt.Errorf("%w: %q names no figure; one of: %s", ErrThreshold, expr, strings.Join(thresholdFigures(), ", "))
	}
	if t.Figure == "failed" && t.Other != "" {
		return t, fmt.Errorf("%w: %q: failed is a count, not a ratio of two contenders", ErrThreshold, expr)
	}
	return t, nil
}

// value is the threshold's figure for contender c's rounds taken together.
func (t *Threshold) value(c *Contender) (float64, bool) {
	if t.Figure == "failed" {
		return float64(c.Total.Failed), true
	}
	for _, f := range figures {
		if f.name == t.Figure {
			return f.get(&c.Total)
		}
	}
	return 0, false
}

func (t *Threshold) breaks(v float64) bool {
	switch t.Op {
	case ">":
		return v > t.Value
	case ">=":
		return v >= t.Value
	case "<":
		return v < t.Value
	default:
		return v <= t.Value
	}
}

// Check evaluates t against r, setting Missed and saying why.
func (t *Threshold) Check(r *Run) {
	t.Missed, t.Why, t.NotChecked = false, "", false
	switch {
	case t.Other != "":
		a, b := r.Contender(t.Contender), r.Contender(t.Other)
		if a == nil || b == nil {
			t.Missed, t.NotChecked, t.Why = true, true, fmt.Sprintf("%s or %s did not run", t.Contender, t.Other)
			return
		}
		var ratio float64
		if x, ok := r.Ratio(t.Contender, t.Figure); ok && x.Baseline == t.Other {
			ratio = x.Median // as the ratio columns give it: the median over rounds
		} else {
			av, ok1 := t.value(a)
			bv, ok2 := t.value(b)
			if !ok1 || !ok2 || bv == 0 {
				t.Missed, t.NotChecked, t.Why = true, true, fmt.Sprintf("no %s of both %s and %s", t.Figure, t.Contender, t.Other)
				return
			}
			ratio = av / bv
		}
		if t.breaks(ratio) {
			t.Missed, t.Why = true, fmt.Sprintf("%s/%s %s is %.3g", t.Contender, t.Other, t.Figure, ratio)
		}
	case t.Contender != "":
		c := r.Contender(t.Contender)
		if c == nil {
			t.Missed, t.NotChecked, t.Why = true, true, t.Contender+" did not run"
			return
		}
		v, ok := t.value(c)
		if !ok {
			t.Missed, t.NotChecked, t.Why = true, true, fmt.Sprintf("%s has no %s", t.Contender, t.Figure)
			return
		}
		if t.breaks(v) {
			t.Missed, t.Why = true, fmt.Sprintf("%s %s is %.4g", t.Contender, t.Figure, v)
		}
	default:
		var why []string
		for i := range r.Contenders {
			c := &r.Contenders[i]
			if c.Reference {
				continue
			}
			if v, ok := t.value(c); ok && t.breaks(v) {
				why = append(why, fmt.Sprintf("%s %s is %.4g", c.Name, t.Figure, v))
			}
		}
		if len(why) > 0 {
			t.Missed, t.Why = true, strings.Join(why, "; ")
		}
	}
}

// CheckThresholds evaluates every threshold of r (Run.Thresholds) and
// returns the ones missed.
func (r *Run) CheckThresholds() []Threshold {
	var missed []Threshold
	for i := range r.Thresholds {
		r.Thresholds[i].Check(r)
		if r.Thresholds[i].Missed {
			missed = append(missed, r.Thresholds[i])
		}
	}
	return missed
}
