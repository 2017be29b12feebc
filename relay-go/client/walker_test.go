package client

import (
	"math/rand/v2"
	"testing"
)

func TestWalkerIsSmooth(t *testing.T) {
	w := NewWalker(rand.New(rand.NewPCG(1, 2)), 40)
	prev := w.At(0)
	for i := 1; i <= 100; i++ {
		p := w.At(float64(i) / 10)
		dx, dz := p.Position[0]-prev.Position[0], p.Position[2]-prev.Position[2]
		if d := dx*dx + dz*dz; d > 0.3*0.3 { // at most 2 m/s * 0.1 s plus slack
			t.Fatalf("step %d jumps %.3f m^2", i, d)
		}
		prev = p
	}
}
