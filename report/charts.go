package report

import (
	"muxlab/results"

	"bytes"
	"fmt"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Charts are drawn with gonum.org/v1/plot as SVG and put inline in the
// report, so that it needs no script and fetches nothing.

// sans is the charts' typeface, set on each plot: the package changes no
// global of the chart library.
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// palette colours the contenders of a report in the order they first appear
// (the first is usually the baseline); runs of the same scenario are told
// apart by dashes.
var palette = []color.RGBA{
	{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff},
	{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
	{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
}

// colors gives each contender name of a report its colour.
type colors map[string]color.RGBA

func (cs colors) of(name string) color.RGBA {
	c, ok := cs[name]
	if !ok {
		c = palette[len(cs)%len(palette)]
		cs[name] = c
	}
	return c
}

var dashes = [][]vg.Length{nil, {vg.Points(6), vg.Points(3)}, {vg.Points(2), vg.Points(2)}, {vg.Points(8), vg.Points(3), vg.Points(2), vg.Points(3)}}

// series is one contender of one run in a chart.
type series struct {
	name     string // legend
	color    color.RGBA
	runIndex int // for the dashes
	c        *results.Contender
	r        *results.Run
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	for _, st := range []*text.Style{&p.Title.TextStyle, &p.X.Label.TextStyle, &p.Y.Label.TextStyle,
		&p.X.Tick.Label, &p.Y.Tick.Label, &p.Legend.TextStyle} {
		st.Font = font.From(sans, st.Font.Size)
	}
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	return p
}

// svg renders p as an inline SVG element (no XML prologue).
func svg(p *plot.Plot, w, h vg.Length) (string, error) {
	wt, err := p.WriterTo(w, h, "svg")
	if err != nil {
		return "", fmt.Errorf("results: drawing %q: %w", p.Title.Text, err)
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return "", err
	}
	out := b.String()
	if i := strings.Index(out, "<svg"); i >= 0 {
		out = out[i:]
	}
	return out, nil
}

// percentileTicks label the x axis of a latency curve: x is 1/(1-q), so each
// added nine moves one decade to the right.
type percentileTicks struct{}

func (percentileTicks) Ticks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	for _, t := range []struct {
		x     float64
		label string
	}{{2, "50%"}, {10, "90%"}, {100, "99%"}, {1000, "99.9%"}, {10000, "99.99%"}} {
		if t.x >= min*0.999 && t.x <= max*1.001 {
			ticks = append(ticks, plot.Tick{Value: t.x, Label: t.label})
		}
	}
	return ticks
}

// latencyChart overlays the latency percentile curves of every series from
// the median to 99.99%, on the usual HdrHistogram scale.
func latencyChart(ss []series) (string, error) {
	p := newPlot("Latency by percentile", "percentile", "latency (ms)")
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = percentileTicks{}
	p.X.Min, p.X.Max = 2, 10000
	drawn, top, bottom := 0, 0.0, math.Inf(1)
	for _, s := range ss {
		d := s.c.Total.Latency
		if d == nil || d.Count == 0 {
			continue
		}
		h, err := d.Histogram()
		if err != nil {
			return "", err
		}
		var pts plotter.XYs
		for x := 2.0; x <= 10000*1.0001; x *= math.Pow(10, 0.05) {
			q := 100 * (1 - 1/x)
			pts = append(pts, plotter.XY{X: x, Y: float64(h.Quantile(q).Microseconds()) / 1000})
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return "", err
		}
		line.Color = s.color
		line.Width = vg.Points(1.6)
		line.Dashes = dashes[s.runIndex%len(dashes)]
		p.Add(line)
		p.Legend.Add(s.name, line)
		drawn++
		for _, pt := range pts {
			top, bottom = math.Max(top, pt.Y), math.Min(bottom, pt.Y)
		}
	}
	if drawn == 0 {
		return "", nil
	}
	if bottom > 0 && top/bottom > 20 {
		// Curves an order of magnitude apart: a log scale keeps the low ones
		// readable. The legend then needs its room in decades.
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Y.Min, p.Y.Max = bottom/1.5, top*math.Pow(10, 0.25*float64(drawn)+0.2)
	} else {
		p.Y.Min = 0
		roomForLegend(p, top, drawn)
	}
	return svg(p, 7*vg.Inch, 3.6*vg.Inch)
}

// roundsChart shows each series' page time (or, without pages, its latency)
// at p50 in every round, so that drift between rounds shows.
func roundsChart(ss []series, pages bool) (string, error) {
	title, what := "Median latency per round", "latency p50 (ms)"
	if pages {
		title, what = "Page time per round", "page p50 (ms)"
	}
	p := newPlot(title, "round", what)
	p.X.Tick.Marker = integerTicks{}
	drawn, top := 0, 0.0
	for _, s := range ss {
		var pts plotter.XYs
		for _, rd := range s.c.Rounds {
			d := rd.Latency
			if pages {
				d = rd.Page
			}
			if d != nil && d.Count > 0 {
				pts = append(pts, plotter.XY{X: float64(rd.Round), Y: d.P50})
			}
		}
		if len(pts) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return "", err
		}
		line.Color, points.Color = s.color, s.color
		line.Dashes = dashes[s.runIndex%len(dashes)]
		points.Shape = draw.CircleGlyph{}
		p.Add(line, points)
		p.Legend.Add(s.name, line, points)
		drawn++
		for _, pt := range pts {
			top = math.Max(top, pt.Y)
		}
	}
	if drawn == 0 {
		return "", nil
	}
	p.Y.Min = 0
	roomForLegend(p, top, drawn)
	return svg(p, 7*vg.Inch, 3*vg.Inch)
}

// roomForLegend raises the top of the y axis so that a legend of n entries
// at the top of the plot does not cover the data.
func roomForLegend(p *plot.Plot, top float64, n int) {
	if top <= 0 {
		top = 1
	}
	p.Y.Max = top * (1.15 + 0.12*float64(n))
}

// integerTicks marks whole numbers only (rounds).
type integerTicks struct{}

func (integerTicks) Ticks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	step := math.Max(1, math.Ceil((max-min)/10))
	for v := math.Ceil(min); v <= max; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: fmt.Sprint(v)})
	}
	return ticks
}

// barChart draws groups of bars, one group per series: values[i][j] is bar
// j of series i; stacked puts a group's bars on top of each other.
func barChart(title, y string, ss []series, barNames []string, values [][]float64, stacked bool) (string, error) {
	p := newPlot(title, "", y)
	p.Legend.Left = false
	w := vg.Points(18)
	shades := []float64{0.45, 1}
	var below *plotter.BarChart
	for j, name := range barNames {
		vals := make(plotter.Values, len(ss))
		for i := range ss {
			vals[i] = values[i][j]
		}
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return "", err
		}
		bars.Color = shade(color.RGBA{R: 0x44, G: 0x44, B: 0x44, A: 0xff}, shades[j%len(shades)])
		bars.LineStyle.Width = 0
		if stacked {
			if below != nil {
				bars.StackOn(below)
			}
			below = bars
		} else {
			bars.Offset = vg.Length(float64(j)-float64(len(barNames)-1)/2) * w
		}
		p.Add(bars)
		p.Legend.Add(name, bars)
	}
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = s.name
	}
	p.NominalX(names...)
	if len(names) > 3 {
		p.X.Tick.Label.Rotation = math.Pi / 8
		p.X.Tick.Label.XAlign = draw.XRight
	}
	p.Y.Min = 0
	top := 0.0
	for _, vs := range values {
		sum := 0.0
		for _, v := range vs {
			sum += v
			top = math.Max(top, v)
		}
		if stacked {
			top = math.Max(top, sum)
		}
	}
	roomForLegend(p, top, len(barNames))
	return svg(p, 7*vg.Inch, 3*vg.Inch)
}

// shade mixes c with white: f=1 keeps c, f=0 is white.
func shade(c color.RGBA, f float64) color.RGBA {
	mix := func(v uint8) uint8 { return uint8(255 - (255-float64(v))*f) }
	return color.RGBA{R: mix(c.R), G: mix(c.G), B: mix(c.B), A: 0xff}
}

// waitServiceChart stacks each series' median wait under its median service.
func waitServiceChart(ss []series) (string, error) {
	var keep []series
	var values [][]float64
	for _, s := range ss {
		t := s.c.Total
		if t.Wait == nil || t.Service == nil || t.Wait.Count == 0 {
			continue
		}
		keep = append(keep, s)
		values = append(values, []float64{t.Wait.P50, t.Service.P50})
	}
	if len(keep) == 0 {
		return "", nil
	}
	return barChart("Wait for a connection or stream, then service (p50)", "ms", keep,
		[]string{"wait p50", "service p50"}, values, true)
}

// connectionsChart puts each series' count of connections as its client saw
// them beside the server's count.
func connectionsChart(ss []series) (string, error) {
	var keep []series
	var values [][]float64
	for _, s := range ss {
		t := s.c.Total
		if t.Client == nil && t.Server == nil {
			continue
		}
		var client, server float64
		if t.Client != nil {
			client = float64(t.Client.Dials)
		}
		if t.Server != nil {
			server = float64(t.Server.ConnectionsAccepted)
		}
		keep = append(keep, s)
		values = append(values, []float64{client, server})
	}
	if len(keep) == 0 {
		return "", nil
	}
	return barChart("Connections per turn: the client's count and the server's", "connections", keep,
		[]string{"client dialed", "server accepted"}, values, false)
}
