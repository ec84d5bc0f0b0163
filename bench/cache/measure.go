package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/geocluster/geocluster/libs/tilecache"
)

// mode is where a read is served from.
type mode int

const (
	readStore mode = iota // GetBytes on geo_tiles
	readNode              // tilecache client without near-cache: a node answers
	readNear              // tilecache client with a near-cache large enough
)

func (m mode) String() string {
	return [...]string{"object store `GetBytes`", "through the cache node (no near-cache)", "near-cache (returns the held slice, no copy)"}[m]
}

// newReader returns a reader for m; warm reads every tile once so that the
// rows measure hits.
func (e *env) newReader(ctx context.Context, name string, m mode) (*reader, error) {
	cfg := tilecache.Config{RequestTimeout: 30 * time.Second}
	if m == readNear {
		cfg.NearMaxBytes = 2 * int64(len(e.names)) * int64(e.sizes)
	}
	r, err := e.client(ctx, name, cfg)
	if err != nil {
		return nil, err
	}
	for _, n := range e.names {
		if _, err := r.read(ctx, m, n); err != nil {
			r.close()
			return nil, err
		}
	}
	return r, nil
}

func (r *reader) read(ctx context.Context, m mode, name string) (int, error) {
	var data []byte
	var err error
	if m == readStore {
		data, err = r.store.GetBytes(ctx, name)
	} else {
		data, err = r.Get(ctx, name)
	}
	return len(data), err
}

type latencies []time.Duration

// p is the q-th percentile (nearest rank).
func (l latencies) p(q float64) time.Duration {
	s := slices.Clone(l)
	slices.Sort(s)
	i := int(float64(len(s))*q/100+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func ms(d time.Duration) string {
	if d < 100*time.Microsecond {
		return fmt.Sprintf("%.2f µs", float64(d)/float64(time.Microsecond))
	}
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

// latency reads tiles one at a time, round-robin, and times each read.
func (e *env) latency(ctx context.Context, cfg config, m mode) (latencies, error) {
	r, err := e.newReader(ctx, "bench-latency", m)
	if err != nil {
		return nil, err
	}
	defer r.close()
	out := make(latencies, 0, cfg.samples)
	for i := range cfg.samples {
		start := time.Now()
		if _, err := r.read(ctx, m, e.names[i%len(e.names)]); err != nil {
			return nil, err
		}
		out = append(out, time.Since(start))
	}
	if err := checkHits(r, m, cfg.samples); err != nil {
		return nil, err
	}
	return out, nil
}

// checkHits makes sure a cache row measured what it claims.
func checkHits(r *reader, m mode, reads int) error {
	st := r.Stats()
	switch {
	case m == readNode && st.RemoteHits < uint64(reads):
		return fmt.Errorf("%d node hits for %d reads: %+v", st.RemoteHits, reads, st)
	case m == readNear && st.NearHits < uint64(reads):
		return fmt.Errorf("%d near hits for %d reads: %+v", st.NearHits, reads, st)
	}
	return nil
}

type rate struct {
	reads, bytes int64
	elapsed      time.Duration
}

// median is the round of median throughput.
func median(rs []rate) rate {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b rate) int { return cmp.Compare(a.mbps(), b.mbps()) })
	return s[len(s)/2]
}

func (r rate) mbps() float64   { return float64(r.bytes) / 1e6 / r.elapsed.Seconds() }
func (r rate) perSec() float64 { return float64(r.reads) / r.elapsed.Seconds() }

// throughput runs cfg.readers readers of cfg.conc goroutines for
// cfg.duration.
func (e *env) throughput(ctx context.Context, cfg config, m mode) (rate, error) {
	readers := make([]*reader, cfg.readers)
	for i := range readers {
		r, err := e.newReader(ctx, fmt.Sprintf("bench-reader-%d", i), m)
		if err != nil {
			return rate{}, err
		}
		defer r.close()
		readers[i] = r
	}
	var reads, bytes atomic.Int64
	var firstErr atomic.Value
	// Reads run to their end: a deadline in the middle of a store read
	// fails it. Every read that started is counted, and so is its time.
	start := time.Now()
	deadline := start.Add(cfg.duration)
	var wg sync.WaitGroup
	for i, r := range readers {
		for g := range cfg.conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := i*cfg.conc + g; time.Now().Before(deadline) && ctx.Err() == nil; k++ {
					n, err := r.read(ctx, m, e.names[k%len(e.names)])
					if err != nil {
						firstErr.CompareAndSwap(nil, err)
						return
					}
					reads.Add(1)
					bytes.Add(int64(n))
				}
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, ok := firstErr.Load().(error); ok {
		return rate{}, err
	}
	for _, r := range readers {
		if m == readNode && r.Stats().Misses > 0 {
			return rate{}, fmt.Errorf("reads fell back to the store: %+v", r.Stats())
		}
	}
	return rate{reads: reads.Load(), bytes: bytes.Load(), elapsed: elapsed}, nil
}
