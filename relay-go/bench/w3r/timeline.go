package w3r

import (
	"sync/atomic"
	"time"
)

// timeline counts events in fixed buckets after the kill; events past the
// last bucket land in it.
type timeline struct {
	start  time.Time
	bucket time.Duration
	counts []atomic.Int64
}

func newTimeline(start time.Time, bucket, span time.Duration) *timeline {
	return &timeline{start: start, bucket: bucket, counts: make([]atomic.Int64, int(span/bucket)+1)}
}

func (t *timeline) add(at time.Time) {
	i := max(0, int(at.Sub(t.start)/t.bucket))
	t.counts[min(i, len(t.counts)-1)].Add(1)
}

// upTo returns the counts of the first n buckets.
func (t *timeline) upTo(n int) []int64 {
	n = min(n, len(t.counts))
	out := make([]int64, n)
	for i := range out {
		out[i] = t.counts[i].Load()
	}
	return out
}
