package loadgen

import (
	"math/bits"
	"sort"
	"sync/atomic"
)

// Histogram counts non-negative values (microseconds in this package) in
// log-linear buckets: exact below 128, then 128 buckets per power of two, so
// any reported quantile is within 1/128 (< 0.8%) of the true value.
// Record is safe for concurrent use and never allocates; histograms from
// several goroutines or processes merge by adding counts (see Merge), which
// is why the load generator uses this instead of keeping raw samples.
type Histogram struct {
	counts [histBuckets]atomic.Uint64
	max    atomic.Int64
}

const (
	subBits     = 7
	subCount    = 1 << subBits
	histBuckets = subCount * 40 // covers values up to 2^46 µs (~2 years)
)

func bucketOf(v int64) int {
	if v < subCount {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	n := bits.Len64(uint64(v)) // >= subBits+1
	g := n - subBits           // group >= 1
	m := (uint64(v) >> (n - 1 - subBits)) & (subCount - 1)
	i := g*subCount + int(m)
	if i >= histBuckets {
		return histBuckets - 1
	}
	return i
}

// bucketLow is the smallest value that falls in bucket i.
func bucketLow(i int) int64 {
	g, m := i/subCount, int64(i%subCount)
	if g == 0 {
		return m
	}
	return (subCount + m) << (g - 1)
}

// bucketMid is the value reported for bucket i (its midpoint).
func bucketMid(i int) int64 {
	lo := bucketLow(i)
	if i+1 >= histBuckets || i < subCount {
		return lo
	}
	return (lo + bucketLow(i+1) - 1) / 2
}

// Record adds one value.
func (h *Histogram) Record(v int64) {
	h.counts[bucketOf(v)].Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Snapshot is a histogram in sparse, JSON-friendly form: bucket index ->
// count. Snapshots merge by adding counts.
type Snapshot struct {
	Buckets map[int]uint64 `json:"buckets"`
	Max     int64          `json:"max"`
}

// Snapshot copies the current counts.
func (h *Histogram) Snapshot() Snapshot {
	s := Snapshot{Buckets: map[int]uint64{}, Max: h.max.Load()}
	for i := range h.counts {
		if c := h.counts[i].Load(); c != 0 {
			s.Buckets[i] = c
		}
	}
	return s
}

// Merge adds o's counts into s.
func (s *Snapshot) Merge(o Snapshot) {
	if s.Buckets == nil {
		s.Buckets = map[int]uint64{}
	}
	for i, c := range o.Buckets {
		s.Buckets[i] += c
	}
	if o.Max > s.Max {
		s.Max = o.Max
	}
}

// Count is the number of recorded values.
func (s *Snapshot) Count() uint64 {
	var n uint64
	for _, c := range s.Buckets {
		n += c
	}
	return n
}

// Quantile returns the value at quantile q (0..1); 0 when empty. q = 1
// returns the exact maximum.
func (s *Snapshot) Quantile(q float64) int64 {
	total := s.Count()
	if total == 0 {
		return 0
	}
	if q >= 1 {
		return s.Max
	}
	idx := make([]int, 0, len(s.Buckets))
	for i := range s.Buckets {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	rank := uint64(q * float64(total))
	if rank >= total {
		rank = total - 1
	}
	var seen uint64
	for _, i := range idx {
		seen += s.Buckets[i]
		if seen > rank {
			v := bucketMid(i)
			if v > s.Max {
				v = s.Max
			}
			return v
		}
	}
	return s.Max
}

// Summary is the quantiles the reports print, in milliseconds.
type Summary struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
}

// Summarize turns a microsecond snapshot into millisecond quantiles.
func (s *Snapshot) Summarize() Summary {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Summary{
		Count: s.Count(),
		P50:   ms(s.Quantile(0.5)),
		P90:   ms(s.Quantile(0.9)),
		P99:   ms(s.Quantile(0.99)),
		P999:  ms(s.Quantile(0.999)),
		Max:   ms(s.Max),
	}
}

// CDF returns (value µs, cumulative fraction) points, one per non-empty
// bucket, for plotting.
func (s *Snapshot) CDF() [][2]float64 {
	total := s.Count()
	if total == 0 {
		return nil
	}
	idx := make([]int, 0, len(s.Buckets))
	for i := range s.Buckets {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	out := make([][2]float64, 0, len(idx))
	var seen uint64
	for _, i := range idx {
		seen += s.Buckets[i]
		out = append(out, [2]float64{float64(bucketMid(i)), float64(seen) / float64(total)})
	}
	return out
}
