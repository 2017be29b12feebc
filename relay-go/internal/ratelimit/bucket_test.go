package ratelimit

import (
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	t0 := time.Unix(1000, 0)
	cases := []struct {
		name  string
		rate  float64
		burst int
		steps []struct {
			at   time.Duration
			want bool
		}
	}{
		{"burst then refuse", 1, 2, []struct {
			at   time.Duration
			want bool
		}{{0, true}, {0, true}, {0, false}}},
		{"refills at rate", 10, 1, []struct {
			at   time.Duration
			want bool
		}{{0, true}, {50 * time.Millisecond, false}, {100 * time.Millisecond, true}, {150 * time.Millisecond, false}}},
		{"capped at burst after idle", 100, 2, []struct {
			at   time.Duration
			want bool
		}{{0, true}, {0, true}, {time.Hour, true}, {time.Hour, true}, {time.Hour, false}}},
		{"zero rate never refills", 0, 1, []struct {
			at   time.Duration
			want bool
		}{{0, true}, {time.Hour, false}}},
		{"clock going backwards is ignored", 1, 1, []struct {
			at   time.Duration
			want bool
		}{{time.Second, true}, {0, false}, {500 * time.Millisecond, false}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := NewBucket(c.rate, c.burst, t0)
			for i, s := range c.steps {
				if got := b.Allow(t0.Add(s.at)); got != s.want {
					t.Fatalf("step %d at %v: got %v want %v", i, s.at, got, s.want)
				}
			}
		})
	}
	var zero Bucket
	if zero.Allow(t0) {
		t.Fatal("zero bucket allowed")
	}
}
