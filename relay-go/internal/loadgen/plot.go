package loadgen

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"strings"
)

// Charts for docs/benchmarks.md, drawn with the standard library only
// (image, image/png) and a built-in 5x7 pixel font, so `make bench` needs no
// plotting package.

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

var (
	white   = color.RGBA{255, 255, 255, 255}
	black   = color.RGBA{0, 0, 0, 255}
	grey    = color.RGBA{210, 210, 210, 255}
	palette = []color.RGBA{{31, 119, 180, 255}, {214, 39, 40, 255}, {44, 160, 44, 255}, {255, 127, 14, 255}, {148, 103, 189, 255}, {140, 86, 75, 255}}
)

type canvas struct {
	img *image.RGBA
}

func newCanvas(w, h int) *canvas {
	c := &canvas{img: image.NewRGBA(image.Rect(0, 0, w, h))}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c.img.SetRGBA(x, y, white)
		}
	}
	return c
}

func (c *canvas) set(x, y int, col color.RGBA) {
	if image.Pt(x, y).In(c.img.Bounds()) {
		c.img.SetRGBA(x, y, col)
	}
}

// line draws a line of width w (Bresenham, thickened by offsets).
func (c *canvas) line(x0, y0, x1, y1 int, col color.RGBA, w int) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := 1, 1
	if x0 > x1 {
		sx = -1
	}
	if y0 > y1 {
		sy = -1
	}
	e := dx + dy
	for {
		for i := 0; i < w; i++ {
			for j := 0; j < w; j++ {
				c.set(x0+i-w/2, y0+j-w/2, col)
			}
		}
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func (c *canvas) rect(x0, y0, x1, y1 int, col color.RGBA) {
	for y := min(y0, y1); y <= max(y0, y1); y++ {
		for x := min(x0, x1); x <= max(x0, x1); x++ {
			c.set(x, y, col)
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// text draws s at (x, y) (top-left) with the 5x7 font scaled by sc.
func (c *canvas) text(x, y int, s string, col color.RGBA, sc int) {
	for _, r := range strings.ToUpper(s) {
		g, ok := font5x7[r]
		if !ok {
			g = font5x7['?']
		}
		for row := 0; row < 7; row++ {
			for bit := 0; bit < 5; bit++ {
				if g[row]&(1<<(4-bit)) != 0 {
					c.rect(x+bit*sc, y+row*sc, x+bit*sc+sc-1, y+row*sc+sc-1, col)
				}
			}
		}
		x += 6 * sc
	}
}

func textWidth(s string, sc int) int { return len([]rune(s)) * 6 * sc }

func (c *canvas) save(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, c.img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

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

// PlotCDF draws latency percentiles: log10 x axis (value), tail-scaled y
// axis (percentile, up to p99.9).
func PlotCDF(path, title, xLabel string, series []Series) error {
	const W, H, L, R, T, B = 900, 520, 70, 20, 50, 70
	c := newCanvas(W, H)
	c.text(L, 15, title, black, 2)
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
	lx0, lx1 := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if lx1 <= lx0 {
		lx1 = lx0 + 1
	}
	px := func(v float64) int {
		return L + int(float64(W-L-R)*(math.Log10(math.Max(v, lo))-lx0)/(lx1-lx0))
	}
	// y is the percentile on a tail scale, -log10(1-f): p50, p90, p99 and
	// p99.9 are evenly spaced, so the tail that matters is visible.
	py := func(f float64) int {
		t := -math.Log10(math.Max(1-f, 1e-3)) / 3
		return H - B - int(float64(H-T-B)*t)
	}
	for d := lx0; d <= lx1; d++ {
		x := px(math.Pow(10, d))
		c.line(x, T, x, H-B, grey, 1)
		lab := fmt.Sprintf("%g", math.Pow(10, d))
		c.text(x-textWidth(lab, 1)/2, H-B+8, lab, black, 1)
	}
	for _, f := range []float64{0, 0.5, 0.9, 0.99, 0.999} {
		y := py(f)
		c.line(L, y, W-R, y, grey, 1)
		lab := fmt.Sprintf("p%g", 100*f)
		c.text(L-textWidth(lab, 1)-6, y-3, lab, black, 1)
	}
	c.line(L, H-B, W-R, H-B, black, 1)
	c.line(L, T, L, H-B, black, 1)
	c.text(L+(W-L-R)/2-textWidth(xLabel, 1)/2, H-B+25, xLabel, black, 1)
	for i, s := range series {
		col := palette[i%len(palette)]
		var x0, y0 int
		for j, p := range s.Points {
			x, y := px(p[0]), py(p[1])
			if j > 0 {
				c.line(x0, y0, x, y, col, 2)
			}
			x0, y0 = x, y
		}
		lx := L + 10 + i*(W-L-R)/max(1, len(series))
		c.rect(lx, H-22, lx+14, H-14, col)
		c.text(lx+20, H-22, s.Name, black, 1)
	}
	return c.save(path)
}

// PlotBars draws a bar chart with the value printed on each bar.
func PlotBars(path, title, yLabel string, bars []Bar) error {
	const W, H, L, R, T, B = 900, 460, 70, 20, 60, 60
	c := newCanvas(W, H)
	c.text(L, 15, title, black, 2)
	c.text(L, 38, yLabel, black, 1)
	top := 0.0
	for _, b := range bars {
		top = math.Max(top, b.Value)
	}
	if top <= 0 {
		top = 1
	}
	top *= 1.15
	c.line(L, H-B, W-R, H-B, black, 1)
	c.line(L, T, L, H-B, black, 1)
	n := max(1, len(bars))
	slot := (W - L - R) / n
	bw := slot * 6 / 10
	for i, b := range bars {
		col := palette[i%len(palette)]
		x := L + i*slot + (slot-bw)/2
		y := H - B - int(float64(H-T-B)*b.Value/top)
		c.rect(x, y, x+bw, H-B-1, col)
		v := fmtNum(b.Value)
		c.text(x+bw/2-textWidth(v, 2)/2, y-18, v, black, 2)
		c.text(x+bw/2-textWidth(b.Label, 1)/2, H-B+10, b.Label, black, 1)
	}
	return c.save(path)
}

// font5x7 holds the glyphs the charts use; each row's low 5 bits are pixels.
var font5x7 = map[rune][7]uint8{
	'0': {14, 17, 19, 21, 25, 17, 14}, '1': {4, 12, 4, 4, 4, 4, 14}, '2': {14, 17, 1, 2, 4, 8, 31},
	'3': {31, 2, 4, 2, 1, 17, 14}, '4': {2, 6, 10, 18, 31, 2, 2}, '5': {31, 16, 30, 1, 1, 17, 14},
	'6': {6, 8, 16, 30, 17, 17, 14}, '7': {31, 1, 2, 4, 8, 8, 8}, '8': {14, 17, 17, 14, 17, 17, 14},
	'9': {14, 17, 17, 15, 1, 2, 12},
	'A': {14, 17, 17, 31, 17, 17, 17}, 'B': {30, 17, 17, 30, 17, 17, 30}, 'C': {14, 17, 16, 16, 16, 17, 14},
	'D': {28, 18, 17, 17, 17, 18, 28}, 'E': {31, 16, 16, 30, 16, 16, 31}, 'F': {31, 16, 16, 30, 16, 16, 16},
	'G': {14, 17, 16, 23, 17, 17, 15}, 'H': {17, 17, 17, 31, 17, 17, 17}, 'I': {14, 4, 4, 4, 4, 4, 14},
	'J': {7, 2, 2, 2, 2, 18, 12}, 'K': {17, 18, 20, 24, 20, 18, 17}, 'L': {16, 16, 16, 16, 16, 16, 31},
	'M': {17, 27, 21, 21, 17, 17, 17}, 'N': {17, 17, 25, 21, 19, 17, 17}, 'O': {14, 17, 17, 17, 17, 17, 14},
	'P': {30, 17, 17, 30, 16, 16, 16}, 'Q': {14, 17, 17, 17, 21, 18, 13}, 'R': {30, 17, 17, 30, 20, 18, 17},
	'S': {15, 16, 16, 14, 1, 1, 30}, 'T': {31, 4, 4, 4, 4, 4, 4}, 'U': {17, 17, 17, 17, 17, 17, 14},
	'V': {17, 17, 17, 17, 17, 10, 4}, 'W': {17, 17, 17, 21, 21, 21, 10}, 'X': {17, 17, 10, 4, 10, 17, 17},
	'Y': {17, 17, 17, 10, 4, 4, 4}, 'Z': {31, 1, 2, 4, 8, 16, 31},
	' ': {}, '.': {0, 0, 0, 0, 0, 12, 12}, ',': {0, 0, 0, 0, 12, 4, 8}, '-': {0, 0, 0, 31, 0, 0, 0},
	'+': {0, 4, 4, 31, 4, 4, 0}, '/': {0, 1, 2, 4, 8, 16, 0}, '(': {2, 4, 8, 8, 8, 4, 2}, ')': {8, 4, 2, 2, 2, 4, 8},
	'%': {24, 25, 2, 4, 8, 19, 3}, ':': {0, 12, 12, 0, 12, 12, 0}, '=': {0, 0, 31, 0, 31, 0, 0},
	'_': {0, 0, 0, 0, 0, 0, 31}, ';': {0, 12, 12, 0, 12, 4, 8}, 'x': {0, 17, 10, 4, 10, 17, 0}, '?': {14, 17, 1, 2, 4, 0, 4},
	'<': {2, 4, 8, 16, 8, 4, 2}, '>': {8, 4, 2, 1, 2, 4, 8}, '*': {0, 4, 21, 14, 21, 4, 0},
}
