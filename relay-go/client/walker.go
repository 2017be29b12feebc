package client

import (
	"math"
	"math/rand/v2"
)

// Pose is a member's transform at one instant (mirrors plaza.common.Transform):
// position in metres, rotation as a unit quaternion (x, y, z, w), velocity in
// metres per second.
type Pose struct {
	Position [3]float32
	Rotation [4]float32
	Velocity [3]float32
}

// Walker moves one avatar along a smooth closed path: a circle of a few
// metres around a point in the room, walked at human speed with a steady
// heading change. Positions are a pure function of time, so a walker needs
// no state between ticks and any tick rate gives a smooth path. A Walker is
// a value: safe for concurrent At calls.
type Walker struct {
	cx, cz, radius, omega, phase float64
}

// NewWalker places a walker at random in a square room of side area metres.
func NewWalker(rng *rand.Rand, area float64) Walker {
	r := 2 + rng.Float64()*6     // 2..8 m
	speed := 1.0 + rng.Float64() // 1..2 m/s
	omega := speed / r
	if rng.IntN(2) == 0 {
		omega = -omega
	}
	return Walker{cx: rng.Float64() * area, cz: rng.Float64() * area, radius: r, omega: omega, phase: rng.Float64() * 2 * math.Pi}
}

// At returns the pose t seconds into the run.
func (w *Walker) At(t float64) Pose {
	a := w.omega*t + w.phase
	s, c := math.Sincos(a)
	vx, vz := -w.radius*w.omega*s, w.radius*w.omega*c
	yaw := math.Atan2(vx, vz)
	sy, cy := math.Sincos(yaw / 2)
	return Pose{
		Position: [3]float32{float32(w.cx + w.radius*c), 0, float32(w.cz + w.radius*s)},
		Rotation: [4]float32{0, float32(sy), 0, float32(cy)},
		Velocity: [3]float32{float32(vx), 0, float32(vz)},
	}
}
