package relay

import (
	"context"
	"math"
	"time"

	"github.com/plaza-dev/plaza/relay-go/internal/wire"
)

func nan() float64 { return math.NaN() }

func nil2(req uint32) *wire.StateSet {
	return &wire.StateSet{Key: "k", Value: []byte("v"), RequestID: req}
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
