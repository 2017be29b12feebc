// Package ratelimit holds the token bucket the relay applies per session and
// message kind.
package ratelimit

import "time"

// Bucket is a token bucket: it holds up to Burst tokens and gains Rate
// tokens per second. The zero Bucket refuses everything. Not safe for
// concurrent use: each session's receive path owns its buckets.
type Bucket struct {
	rate   float64
	burst  float64
	tokens float64
	last   int64 // unix nanos of the last refill
}

// NewBucket returns a full bucket. rate <= 0 means the bucket never refills
// after the first burst tokens.
func NewBucket(rate float64, burst int, now time.Time) Bucket {
	if burst < 0 {
		burst = 0
	}
	return Bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now.UnixNano()}
}

// Allow takes one token if there is one.
func (b *Bucket) Allow(now time.Time) bool {
	n := now.UnixNano()
	if n > b.last {
		if b.rate > 0 {
			b.tokens += float64(n-b.last) / 1e9 * b.rate
			if b.tokens > b.burst {
				b.tokens = b.burst
			}
		}
		b.last = n
	}
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// Tokens returns the tokens left (for tests and metrics).
func (b *Bucket) Tokens() float64 { return b.tokens }
