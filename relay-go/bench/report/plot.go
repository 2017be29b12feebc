package report

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Charts for docs/benchmarks.md, drawn with gonum.org/v1/plot and saved as
// PNG (the file extension picks the format).

// Series is one line of a line chart: (x, y) points in data units.
type Series struct {
	Name   string
	Points [][2]float64
}

// Bar is one bar of a bar chart.
type Bar struct {
	Label string
	Value float64
}

// palette is matplotlib's "tab10" start, so old and new plots look alike.
var palette = []color.RGBA{{31, 119, 180, 255}, {214, 39, 40, 255}, {44, 160, 44, 255}, {255, 127, 14, 255}, {148, 103, 189, 255}, {140, 86, 75, 255}}

// Image sizes: 900x520 and 900x460 pixels at the 96 dpi plot.Save uses
// for PNG.
const (
	cdfW, cdfH = 900 * vg.Inch / 96, 520 * vg.Inch / 96
	barW, barH = 900 * vg.Inch / 96, 460 * vg.Inch / 96
)

// tailMax is the highest percentile the CDF plots show (p99.9).
const tailMax = 0.999

// tailScale spaces a cumulative fraction f by -log10(1-f), so p50, p90,
// p99 and p99.9 are evenly spaced and the tail that matters is visible.
type tailScale struct{}

func tail(f float64) float64 { return -math.Log10(math.Max(1-f, 1-tailMax)) }

func (tailScale) Normalize(lo, hi, f float64) float64 {
	a, b := tail(lo), tail(hi)
	if b == a {
		return 0
	}
	return (tail(f) - a) / (b - a)
}

// PlotCDF draws latency percentiles into the PNG file path: log10 x axis
// (value), tail-scaled y axis (percentile, up to p99.9).
func PlotCDF(path, title, xLabel string, series []Series) error {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, p := range s.Points {
			if p[0] > 0 {
				lo, hi = math.Min(lo, p[0]), math.Max(hi, p[0])
			}
		}
	}
	if math.IsInf(lo, 1) {
		lo, hi = 0.1, 1000
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.X.Min, p.X.Max = math.Pow(10, math.Floor(math.Log10(lo))), math.Pow(10, math.Ceil(math.Log10(hi)))
	if p.X.Max <= p.X.Min {
		p.X.Max = p.X.Min * 10
	}
	p.Y.Scale = tailScale{}
	p.Y.Min, p.Y.Max = 0, tailMax
	var ticks []plot.Tick
	for _, f := range []float64{0, 0.5, 0.9, 0.99, 0.999} {
		ticks = append(ticks, plot.Tick{Value: f, Label: fmt.Sprintf("p%g", 100*f)})
	}
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	p.Add(plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = true, true
	for i, s := range series {
		xys := make(plotter.XYs, len(s.Points))
		for j, pt := range s.Points {
			xys[j].X, xys[j].Y = math.Max(pt[0], lo), math.Min(pt[1], tailMax)
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return fmt.Errorf("plot %s: %w", path, err)
		}
		l.LineStyle.Color = palette[i%len(palette)]
		l.LineStyle.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(s.Name, l)
	}
	if err := p.Save(cdfW, cdfH, path); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return nil
}

// PlotBars draws a bar chart into the PNG file path, one colour per bar,
// with the value printed above each bar.
func PlotBars(path, title, yLabel string, bars []Bar) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = yLabel
	p.Add(plotter.NewGrid())
	top := 0.0
	labels := make([]string, len(bars))
	var vals plotter.XYLabels
	// Bars fill 60% of their slot, at most 1.5 inch wide.
	width := min(barW*6/10/vg.Length(max(1, len(bars))), 1.5*vg.Inch)
	for i, b := range bars {
		top = math.Max(top, b.Value)
		labels[i] = b.Label
		bc, err := plotter.NewBarChart(plotter.Values{b.Value}, width)
		if err != nil {
			return fmt.Errorf("plot %s: %w", path, err)
		}
		bc.XMin = float64(i)
		bc.Color = palette[i%len(palette)]
		bc.LineStyle.Width = 0
		p.Add(bc)
		vals.XYs = append(vals.XYs, plotter.XY{X: float64(i), Y: b.Value})
		vals.Labels = append(vals.Labels, fmtNum(b.Value))
	}
	if top <= 0 {
		top = 1
	}
	p.Y.Min, p.Y.Max = 0, top*1.15
	p.NominalX(labels...)
	lab, err := plotter.NewLabels(vals)
	if err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	lab.Offset = vg.Point{Y: vg.Points(3)}
	for i := range lab.TextStyle {
		lab.TextStyle[i].XAlign = draw.XCenter
		lab.TextStyle[i].YAlign = draw.YBottom
		lab.TextStyle[i].Font.Size = vg.Points(12)
	}
	p.Add(lab)
	if err := p.Save(barW, barH, path); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return nil
}

// fmtNum prints a bar's value with about three significant digits.
func fmtNum(v float64) string {
	switch {
	case v == 0:
		return "0"
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}
