package rules

import (
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Store defaults.
const (
	// DefaultRetention is how long a Store keeps samples.
	DefaultRetention = time.Hour
	// DefaultMaxSeries bounds the number of series a Store holds.
	DefaultMaxSeries = 10000
)

// Point is one sample of a series.
type Point struct {
	T time.Time
	V float64
}

// Store is an in-memory time-series store: series keyed by metric name and
// label set, samples kept for a bounded retention, and a bounded number of
// series. Appends beyond the series limit, and samples older than the newest
// one of their series, are dropped and counted (see Dropped).
//
// A Store is safe for concurrent use: one writer appending while any number
// of readers evaluate expressions against it.
type Store struct {
	retention time.Duration
	maxSeries int
	dropped   atomic.Uint64

	mu     sync.RWMutex
	series map[string]*series // by seriesKey
	byName map[string]map[string]*series
	newest time.Time // newest sample time appended, drives expiry
	swept  time.Time // last full expiry sweep
}

type series struct {
	name   string
	labels map[string]string
	points []Point // ascending by T
}

// StoreOption configures a Store. Options reject invalid values.
type StoreOption func(*Store) error

// WithRetention sets how long samples are kept, relative to the newest sample
// appended (default DefaultRetention). It must be positive.
func WithRetention(d time.Duration) StoreOption {
	return func(s *Store) error {
		if d <= 0 {
			return fmt.Errorf("retention %v: must be positive", d)
		}
		s.retention = d
		return nil
	}
}

// WithMaxSeries bounds the number of series (default DefaultMaxSeries). It
// must be positive.
func WithMaxSeries(n int) StoreOption {
	return func(s *Store) error {
		if n <= 0 {
			return fmt.Errorf("max series %d: must be positive", n)
		}
		s.maxSeries = n
		return nil
	}
}

// NewStore returns an empty Store.
func NewStore(opts ...StoreOption) (*Store, error) {
	s := &Store{
		retention: DefaultRetention,
		maxSeries: DefaultMaxSeries,
		series:    make(map[string]*series),
		byName:    make(map[string]map[string]*series),
	}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, fmt.Errorf("new store: %w", err)
		}
	}
	return s, nil
}

// Append adds the sample (t, v) to the series name{labels}. A sample at the
// same time as the newest sample of its series replaces it. It returns
// ErrInvalidName, ErrTooManySeries or ErrOutOfOrder (wrapped) when the sample
// is dropped.
func (s *Store) Append(name string, labels map[string]string, t time.Time, v float64) error {
	if !validMetricName(name) {
		s.dropped.Add(1)
		return fmt.Errorf("append %q: %w", name, ErrInvalidName)
	}
	for k := range labels {
		if !validLabelName(k) {
			s.dropped.Add(1)
			return fmt.Errorf("append %q: label %q: %w", name, k, ErrInvalidName)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendLocked(name, labels, t, v)
}

func (s *Store) appendLocked(name string, labels map[string]string, t time.Time, v float64) error {
	key := name + "\x00" + labelsKey(labels)
	sr, ok := s.series[key]
	if !ok {
		if len(s.series) >= s.maxSeries {
			s.sweepLocked()
		}
		if len(s.series) >= s.maxSeries {
			s.dropped.Add(1)
			return fmt.Errorf("append %s: %d series: %w", name, s.maxSeries, ErrTooManySeries)
		}
		sr = &series{name: name, labels: copyLabels(labels)}
		s.series[key] = sr
		if s.byName[name] == nil {
			s.byName[name] = make(map[string]*series)
		}
		s.byName[name][key] = sr
	}
	if n := len(sr.points); n > 0 {
		last := sr.points[n-1].T
		switch {
		case t.Before(last):
			s.dropped.Add(1)
			return fmt.Errorf("append %s at %s: newest is %s: %w", name, t.Format(time.RFC3339Nano), last.Format(time.RFC3339Nano), ErrOutOfOrder)
		case t.Equal(last):
			sr.points[n-1].V = v
			return nil
		}
	}
	sr.points = append(sr.points, Point{T: t, V: v})
	if t.After(s.newest) {
		s.newest = t
	}
	s.trim(sr)
	if s.newest.Sub(s.swept) >= s.retention/10 {
		s.sweepLocked()
	}
	return nil
}

// trim drops the points of sr older than the retention.
func (s *Store) trim(sr *series) {
	cutoff := s.newest.Add(-s.retention)
	i := 0
	for i < len(sr.points) && sr.points[i].T.Before(cutoff) {
		i++
	}
	if i > 0 {
		sr.points = append(sr.points[:0], sr.points[i:]...)
	}
}

// sweepLocked trims every series and removes those left empty.
func (s *Store) sweepLocked() {
	s.swept = s.newest
	for key, sr := range s.series {
		s.trim(sr)
		if len(sr.points) == 0 {
			delete(s.series, key)
			delete(s.byName[sr.name], key)
			if len(s.byName[sr.name]) == 0 {
				delete(s.byName, sr.name)
			}
		}
	}
}

// Dropped is the number of samples dropped since the Store was created.
func (s *Store) Dropped() uint64 { return s.dropped.Load() }

// SeriesCount is the number of series currently held.
func (s *Store) SeriesCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.series)
}

// Series is a copy of one stored series' points within a window.
type Series struct {
	Name   string
	Labels map[string]string
	Points []Point
}

// Select returns the series named name whose labels satisfy match, with
// their points in the window (from, to]. Series with no point in the window
// are omitted. The result is a copy, safe to use after the call.
func (s *Store) Select(name string, match func(map[string]string) bool, from, to time.Time) []Series {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Series
	for _, sr := range s.byName[name] {
		if match != nil && !match(sr.labels) {
			continue
		}
		lo := sort.Search(len(sr.points), func(i int) bool { return sr.points[i].T.After(from) })
		hi := sort.Search(len(sr.points), func(i int) bool { return sr.points[i].T.After(to) })
		var pts []Point
		if lo < hi {
			pts = append(pts, sr.points[lo:hi]...)
		}
		if len(pts) > 0 {
			out = append(out, Series{Name: sr.name, Labels: copyLabels(sr.labels), Points: pts})
		}
	}
	return out
}
