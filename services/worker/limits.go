package worker

import (
	"context"
	"sync"
)

// slots counts how many more tasks the worker may hold. The pull loop takes
// slots for a fetched batch; each task gives its slot back when it is done.
type slots struct {
	mu    sync.Mutex
	free  int
	total int
	// freed holds one token when a slot was given back since the pull loop
	// last looked, so no wake-up is lost.
	freed chan struct{}
}

func newSlots(n int) *slots {
	return &slots{free: n, total: n, freed: make(chan struct{}, 1)}
}

// available returns the number of free slots.
func (s *slots) available() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.free
}

// held returns the number of slots in use.
func (s *slots) held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total - s.free
}

// take takes n slots; the caller checked they are free.
func (s *slots) take(n int) {
	s.mu.Lock()
	s.free -= n
	s.mu.Unlock()
}

// release gives one slot back and wakes the pull loop.
func (s *slots) release() {
	s.mu.Lock()
	s.free++
	s.mu.Unlock()
	select {
	case s.freed <- struct{}{}:
	default:
	}
}

// opLimits bounds the tasks of one op that run at once. Ops without a
// limit are bounded only by the worker's slots. Built before Run starts
// tasks and read-only afterwards.
type opLimits map[string]chan struct{}

func newOpLimits(limits map[string]int) opLimits {
	out := make(opLimits, len(limits))
	for op, n := range limits {
		out[op] = make(chan struct{}, n)
	}
	return out
}

// acquire waits for a free run of op. It gives up when ctx is done (the
// task was cancelled) or stop is closed (the worker is draining and the task
// has not started). The returned release must be called when the op ends.
func (l opLimits) acquire(ctx context.Context, op string, stop <-chan struct{}) (release func(), err error) {
	sem, ok := l[op]
	if !ok {
		return func() {}, nil
	}
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	default:
	}
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	case <-stop:
		return nil, ErrDraining
	}
}
