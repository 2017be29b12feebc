package transport

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
)

// workerPool runs nbio's per-message callbacks (the relay's receive path)
// on long-lived goroutines.
//
// nbio's default executor starts a fresh goroutine for nearly every message
// and lets it exit when its queue is empty; each new goroutine then grows
// its stack on the receive path, and under W1 stack growth alone took ~8 %
// of the relay's CPU (docs/benchmarks.md). Long-lived workers keep their
// grown stacks.
//
// nbio keeps each connection's callbacks in order itself (one connection's
// jobs never run concurrently), so any worker may run any job. A callback
// may block for a while (a Hello waits for its room, at most the join
// timeout): when every worker is busy and the queue is full, the job runs
// on a goroutine of its own rather than waiting, so a slow join never
// stalls other connections' messages.
type workerPool struct {
	jobs chan func()
	stop chan struct{}
}

func newWorkerPool(workers, queue int) *workerPool {
	p := &workerPool{jobs: make(chan func(), queue), stop: make(chan struct{})}
	for range workers {
		go p.work()
	}
	return p
}

// defaultWorkers is enough to keep every core busy while some workers wait
// on joins.
func defaultWorkers() int { return max(64, 16*runtime.GOMAXPROCS(0)) }

// Go runs f on a worker, or on a new goroutine when all are busy.
func (p *workerPool) Go(f func()) {
	select {
	case p.jobs <- f:
	default:
		go run(f)
	}
}

// Stop ends the workers once they finish their current job; jobs still
// queued are dropped (the server is shutting down).
func (p *workerPool) Stop() { close(p.stop) }

func (p *workerPool) work() {
	for {
		select {
		case f := <-p.jobs:
			run(f)
		case <-p.stop:
			return
		}
	}
}

// run calls f; a panic in a callback is reported and the worker lives on
// (the relay's receive path has its own recover; this is the last line).
func run(f func()) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "transport: callback panic: %v\n%s", r, debug.Stack())
		}
	}()
	f()
}
