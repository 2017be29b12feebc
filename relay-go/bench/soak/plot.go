package soak

import (
	"encoding/json"
	"fmt"
	"image/color"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Chart is one PNG of the soak: time series over the run, as
// scripts/soak.py writes them (plots.json: a list of charts).
type Chart struct {
	File   string  `json:"file"` // base name, written into the output directory
	Title  string  `json:"title"`
	YLabel string  `json:"y_label"`
	Series []Curve `json:"series"`
	// WarmupMin draws a vertical line where the slope fit starts.
	WarmupMin float64 `json:"warmup_min"`
}

// Curve is one line of a Chart: points (minutes since start, value).
type Curve struct {
	Name   string       `json:"name"`
	Points [][2]float64 `json:"points"`
}

var palette = []color.RGBA{{31, 119, 180, 255}, {214, 39, 40, 255}, {44, 160, 44, 255}, {255, 127, 14, 255}, {148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255}}

// PlotFile reads a list of charts from the JSON file spec and writes each
// as a PNG (900x460 px) into dir.
func PlotFile(spec, dir string) error {
	b, err := os.ReadFile(spec)
	if err != nil {
		return err
	}
	var charts []Chart
	if err := json.Unmarshal(b, &charts); err != nil {
		return fmt.Errorf("%s: %w", spec, err)
	}
	for _, c := range charts {
		if err := plotChart(filepath.Join(dir, c.File), &c); err != nil {
			return err
		}
	}
	return nil
}

func plotChart(path string, c *Chart) error {
	p := plot.New()
	p.Title.Text = c.Title
	p.X.Label.Text = "minutes since the first sample"
	p.Y.Label.Text = c.YLabel
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.Left = true
	top := 0.0
	for i, s := range c.Series {
		xys := make(plotter.XYs, len(s.Points))
		for j, pt := range s.Points {
			xys[j] = plotter.XY{X: pt[0], Y: pt[1]}
			top = max(top, pt[1])
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return fmt.Errorf("plot %s: %w", path, err)
		}
		l.Color = palette[i%len(palette)]
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(s.Name, l)
	}
	if top <= 0 {
		top = 1
	}
	p.Y.Max = top * 1.25 // room for the legend
	if c.WarmupMin > 0 {
		w, err := plotter.NewLine(plotter.XYs{{X: c.WarmupMin, Y: 0}, {X: c.WarmupMin, Y: p.Y.Max}})
		if err != nil {
			return fmt.Errorf("plot %s: %w", path, err)
		}
		w.Color = color.RGBA{127, 127, 127, 255}
		w.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
		p.Add(w)
		p.Legend.Add("slope fit starts", w)
	}
	if err := p.Save(900*vg.Inch/96, 460*vg.Inch/96, path); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return nil
}
