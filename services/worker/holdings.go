package worker

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/geocluster/geocluster/libs/events"
)

// holdings collects what enters and leaves the worker's near-cache and
// announces it on events.WorkerHoldsSubject, batched, for data locality.
// The first announcement resets whatever an earlier run under the same id
// announced.
type holdings struct {
	mu      sync.Mutex
	changes map[string]bool // object -> held
	reset   bool
	kick    chan struct{}
	// send serializes announcements, so they leave in order.
	send sync.Mutex
}

func newHoldings() *holdings {
	return &holdings{changes: map[string]bool{}, reset: true, kick: make(chan struct{}, 1)}
}

// changed records that object entered (held) or left the near-cache. It is
// the near-cache's callback and never blocks.
func (h *holdings) changed(object string, held bool) {
	h.mu.Lock()
	h.changes[object] = held
	h.mu.Unlock()
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// take returns the pending announcement, or false when there is none.
func (h *holdings) take(w *worker) (events.WorkerHoldings, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.changes) == 0 && !h.reset {
		return events.WorkerHoldings{}, false
	}
	a := events.WorkerHoldings{V: events.Version, WorkerID: w.cfg.ID, Pool: w.cfg.Pool, Zone: w.cfg.Labels["zone"], Reset: h.reset, At: time.Now().UTC()}
	for o, held := range h.changes {
		if len(a.Added)+len(a.Removed) == events.MaxHoldingsObjects {
			break
		}
		if held {
			a.Added = append(a.Added, o)
		} else if !h.reset {
			a.Removed = append(a.Removed, o)
		}
		delete(h.changes, o)
	}
	h.reset = false
	sort.Strings(a.Added)
	sort.Strings(a.Removed)
	return a, true
}

// holdingsBatch is how long changes gather before an announcement.
const holdingsBatch = 20 * time.Millisecond

// announce publishes holdings until ctx is done. Announcements are core
// NATS messages: losing one costs locality, never correctness.
func (w *worker) announce(ctx context.Context, h *holdings) {
	w.sendHoldings()
	t := time.NewTimer(holdingsBatch)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.kick:
		}
		t.Reset(holdingsBatch)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.sendHoldings()
	}
}

// sendHoldings publishes every pending change of the near-cache now.
func (w *worker) sendHoldings() {
	w.held.send.Lock()
	defer w.held.send.Unlock()
	for {
		a, ok := w.held.take(w)
		if !ok {
			return
		}
		data, err := json.Marshal(a)
		if err != nil {
			return
		}
		if err := w.nc.Publish(events.WorkerHoldsSubject(w.cfg.ID), data); err != nil {
			if err != nats.ErrConnectionClosed {
				w.log.Debug().Err(err).Msg("holdings not announced")
			}
			return
		}
	}
}
