package w3r

import (
	"encoding/json"
	"fmt"
	"image/color"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// SmoothMs is the moving window Plot averages the timeline over: 100 ms
// buckets alone are too spiky to read a rate from.
const SmoothMs = 500

// Plot draws one run's storm (the Result JSON at resultPath) as a PNG at
// pngPath (900x460 px): Welcomes, 503s, join requests and other failed
// attempts per second after the kill, each a per-second rate averaged over
// the SmoothMs window centred on the bucket.
func Plot(resultPath, pngPath, title string) error {
	b, err := os.ReadFile(resultPath)
	if err != nil {
		return err
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%s: %w", resultPath, err)
	}
	if r.BucketMs <= 0 {
		return fmt.Errorf("%s: bucket_ms is %d, not a W3r result", resultPath, r.BucketMs)
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "seconds after the kill"
	p.Y.Label.Text = fmt.Sprintf("per second (%d ms buckets, %d ms moving average)", r.BucketMs, SmoothMs)
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	top := 0.0
	scale := 1000 / float64(r.BucketMs)
	for _, s := range []struct {
		name   string
		counts []int64
		color  color.RGBA
	}{
		{"Welcomes (players back)/s", r.Welcomes, color.RGBA{44, 160, 44, 255}},
		{"503s/s", r.Refused503, color.RGBA{214, 39, 40, 255}},
		{"join requests/s", r.JoinRequestT, color.RGBA{31, 119, 180, 255}},
		{"other failed attempts/s", r.FailuresT, color.RGBA{127, 127, 127, 255}},
	} {
		xys := make(plotter.XYs, len(s.counts))
		for i, y := range movingAverage(s.counts, int(SmoothMs/r.BucketMs)) {
			xys[i] = plotter.XY{X: float64(i) * float64(r.BucketMs) / 1000, Y: y * scale}
			top = max(top, xys[i].Y)
		}
		if len(xys) == 0 {
			continue
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return fmt.Errorf("plot %s: %w", pngPath, err)
		}
		l.Color = s.color
		l.Width = vg.Points(1.3)
		p.Add(l)
		p.Legend.Add(s.name, l)
	}
	p.Y.Max = max(top, 1) * 1.3 // room for the legend
	if err := p.Save(900*vg.Inch/96, 460*vg.Inch/96, pngPath); err != nil {
		return fmt.Errorf("plot %s: %w", pngPath, err)
	}
	return nil
}

// movingAverage averages each count over the window of w buckets centred
// on it (fewer at the edges); w < 2 returns the counts as they are.
func movingAverage(counts []int64, w int) []float64 {
	out := make([]float64, len(counts))
	half := max(w, 1) / 2
	for i := range counts {
		lo, hi := max(0, i-half), min(len(counts)-1, i+half)
		var sum int64
		for _, c := range counts[lo : hi+1] {
			sum += c
		}
		out[i] = float64(sum) / float64(hi-lo+1)
	}
	return out
}
