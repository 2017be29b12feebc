package interest

import (
	"math"
	"reflect"
	"testing"
)

func TestCellOf(t *testing.T) {
	g := Grid{Size: 10}
	cases := []struct {
		x, z float32
		want Cell
	}{
		{0, 0, Cell{0, 0}}, {9.99, 9.99, Cell{0, 0}}, {10, 0, Cell{1, 0}}, {-0.1, -10, Cell{-1, -1}},
		{float32(math.NaN()), 5, Cell{0, 0}}, {float32(math.Inf(1)), float32(math.Inf(-1)), Cell{math.MaxInt32, math.MinInt32}},
		{3e38, -3e38, Cell{math.MaxInt32, math.MinInt32}},
	}
	for _, c := range cases {
		if got := g.CellOf(c.x, c.z); got != c.want {
			t.Errorf("CellOf(%v,%v)=%v want %v", c.x, c.z, got, c.want)
		}
	}
}

func TestNear(t *testing.T) {
	cases := []struct {
		a, b Cell
		want bool
	}{
		{Cell{0, 0}, Cell{0, 0}, true}, {Cell{0, 0}, Cell{1, 1}, true}, {Cell{0, 0}, Cell{-1, 1}, true},
		{Cell{0, 0}, Cell{2, 0}, false}, {Cell{0, 0}, Cell{0, -2}, false},
		{Cell{math.MaxInt32, 0}, Cell{math.MinInt32, 0}, false},
	}
	for _, c := range cases {
		if got := Near(c.a, c.b); got != c.want {
			t.Errorf("Near(%v,%v)=%v", c.a, c.b, got)
		}
	}
}

func TestVisible(t *testing.T) {
	avatars := []Avatar{
		{Cell: Cell{0, 0}, MovedNow: true, FarPending: true},  // 0 near, moved
		{Cell: Cell{1, 0}, MovedNow: false, FarPending: true}, // 1 near, idle now
		{Cell: Cell{5, 5}, MovedNow: true, FarPending: true},  // 2 far, moved
		{Cell: Cell{9, 9}, MovedNow: false, FarPending: false},
	}
	cases := []struct {
		name    string
		c       Cell
		farTick bool
		want    []int
	}{
		{"near only", Cell{0, 0}, false, []int{0}},
		{"far tick adds pending", Cell{0, 0}, true, []int{0, 1, 2}},
		{"observer far away", Cell{5, 4}, false, []int{2}},
		{"nobody", Cell{-9, -9}, false, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Visible(c.c, avatars, c.farTick, nil); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %v want %v", got, c.want)
			}
		})
	}
}

func TestFarTick(t *testing.T) {
	if FarTick(10, 0) || !FarTick(10, 5) || FarTick(11, 5) || !FarTick(7, 1) {
		t.Fatal("far tick schedule")
	}
}
