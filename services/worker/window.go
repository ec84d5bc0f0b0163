package worker

import "time"

// windowBuckets is how many buckets a window is kept in.
const windowBuckets = 10

// window counts outcomes over a rolling period, in windowBuckets buckets of
// period/windowBuckets each.
type window struct {
	width   int64 // nanoseconds per bucket
	buckets [windowBuckets]bucket
}

// bucket counts the outcomes of one slot: time in Unix nanoseconds divided
// by the width.
type bucket struct {
	slot            int64
	total, failures int
}

func newWindow(period time.Duration) window {
	return window{width: max(int64(period)/windowBuckets, 1)}
}

func (w *window) slot(now time.Time) int64 { return now.UnixNano() / w.width }

func (w *window) bucket(slot int64) *bucket {
	return &w.buckets[(slot%windowBuckets+windowBuckets)%windowBuckets]
}

// add counts one outcome at now.
func (w *window) add(now time.Time, failed bool) {
	s := w.slot(now)
	bk := w.bucket(s)
	if bk.slot != s {
		*bk = bucket{slot: s}
	}
	bk.total++
	if failed {
		bk.failures++
	}
}

// counts returns the outcomes of the buckets still in the window at now.
func (w *window) counts(now time.Time) (total, failures int) {
	s := w.slot(now)
	for _, bk := range w.buckets {
		if bk.total > 0 && bk.slot > s-windowBuckets && bk.slot <= s {
			total += bk.total
			failures += bk.failures
		}
	}
	return total, failures
}

func (w *window) reset() { w.buckets = [windowBuckets]bucket{} }
