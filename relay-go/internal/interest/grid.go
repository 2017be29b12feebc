// Package interest decides which avatars' movement each room member
// receives on a tick, using a uniform grid over the horizontal (x, z) plane.
package interest

import "math"

// Cell is a grid cell coordinate.
type Cell struct{ X, Z int32 }

// Grid maps positions to cells of side Size (the interest radius). An avatar
// is "near" an observer when their cells touch (same or adjacent cell, 3x3):
// everyone within Size is near, no one beyond 2*sqrt(2)*Size is. Cell-level
// interest (rather than exact distance) means all observers in one cell see
// the same set, so the room encodes one batch per occupied cell and shares it.
type Grid struct {
	Size float32
}

// CellOf returns the cell holding (x, z). Non-finite or huge coordinates
// are clamped to the edge of the int32 grid.
func (g Grid) CellOf(x, z float32) Cell {
	return Cell{clamp(float64(x) / float64(g.Size)), clamp(float64(z) / float64(g.Size))}
}

func clamp(v float64) int32 {
	v = math.Floor(v)
	switch {
	case math.IsNaN(v):
		return 0
	case v <= math.MinInt32:
		return math.MinInt32
	case v >= math.MaxInt32:
		return math.MaxInt32
	}
	return int32(v)
}

// Near reports whether cells a and b touch.
func Near(a, b Cell) bool {
	dx, dz := int64(a.X)-int64(b.X), int64(a.Z)-int64(b.Z)
	return dx >= -1 && dx <= 1 && dz >= -1 && dz <= 1
}

// Avatar is one room member's movement state for a tick.
type Avatar struct {
	Cell Cell
	// MovedNow: its transform changed since the last tick.
	MovedNow bool
	// FarPending: it moved since the last far tick.
	FarPending bool
}

// Visible appends to dst the indexes of the avatars an observer in cell c
// receives this tick and returns dst: near avatars that moved now, and on a
// far tick every avatar that moved since the last far tick. farTick is
// false on every tick when far avatars are never sent.
func Visible(c Cell, avatars []Avatar, farTick bool, dst []int) []int {
	for i := range avatars {
		a := &avatars[i]
		if (a.MovedNow && Near(c, a.Cell)) || (farTick && a.FarPending) {
			dst = append(dst, i)
		}
	}
	return dst
}

// FarTick reports whether tick sends far avatars: every farEvery-th tick,
// never when farEvery is 0.
func FarTick(tick uint64, farEvery uint16) bool {
	return farEvery > 0 && tick%uint64(farEvery) == 0
}
