package raster

import (
	"sync"
	"sync/atomic"
)

// runChunks calls work(state, i) for every i in [0, n) on up to workers
// goroutines, each with its own state from newState, released by release
// when the goroutine ends. It stops handing out work at the first error and
// returns it once every goroutine is done. With one worker it runs in the
// calling goroutine.
func runChunks[S any](n, workers int, newState func() S, release func(S), work func(S, int) error) error {
	workers = max(1, min(workers, n))
	if workers == 1 {
		s := newState()
		defer release(s)
		for i := range n {
			if err := work(s, i); err != nil {
				return err
			}
		}
		return nil
	}
	var next atomic.Int64
	var failed atomic.Bool
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range errs {
		wg.Go(func() {
			s := newState()
			defer release(s)
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := work(s, i); err != nil {
					errs[w] = err
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
