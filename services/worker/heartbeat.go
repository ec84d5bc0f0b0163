package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/geocluster/geocluster/libs/events"
)

// info is the registration of the worker in state s.
func (w *worker) info(s events.WorkerState) events.WorkerInfo {
	return events.WorkerInfo{
		V:           events.Version,
		ID:          w.cfg.ID,
		Pool:        w.cfg.Pool,
		Host:        w.host,
		Ops:         w.ops.Names(),
		Capacity:    w.cfg.Capacity,
		OpLimits:    maps.Clone(w.cfg.OpLimits),
		Labels:      maps.Clone(w.cfg.Labels),
		Zone:        w.cfg.Labels["zone"],
		Running:     w.slots.held(),
		Completed:   w.completed.Load(),
		Failed:      w.failed.Load(),
		State:       s,
		Tiles:       w.tileStats(),
		Breakers:    w.breakers.states(),
		StartedAt:   w.startedAt,
		HeartbeatAt: time.Now().UTC(),
	}
}

// put writes the registration in state s, or in the current state when s is
// empty, and returns what it wrote. Puts are serialized so that a heartbeat
// never overwrites a newer state.
func (w *worker) put(ctx context.Context, s events.WorkerState) (events.WorkerInfo, error) {
	w.regMu.Lock()
	defer w.regMu.Unlock()
	if s != "" {
		w.state = s
	}
	info := w.info(w.state)
	data, err := json.Marshal(info)
	if err != nil {
		return info, fmt.Errorf("encode registration: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.PublishTimeout)
	defer cancel()
	if _, err := w.kv.Put(ctx, w.cfg.ID, data); err != nil {
		return info, fmt.Errorf("put registration %s in %s: %w", w.cfg.ID, events.BucketWorkers, err)
	}
	return info, nil
}

// register writes the registration and announces the worker.
func (w *worker) register(ctx context.Context) error {
	info, err := w.put(ctx, events.WorkerRegistered)
	if err != nil {
		return err
	}
	return w.publishWorkerEvent(ctx, events.WorkerRegistered, info)
}

// announceDraining marks the registration draining and announces it.
func (w *worker) announceDraining(ctx context.Context) {
	info, err := w.put(ctx, events.WorkerDraining)
	if err != nil {
		w.log.Warn().Err(err).Msg("registration not updated")
	}
	if err := w.publishWorkerEvent(ctx, events.WorkerDraining, info); err != nil {
		w.log.Warn().Err(err).Msg("draining event not published")
	}
}

// deregister removes the registration and announces the stop. The
// heartbeat must be stopped before, or it would write the key again.
func (w *worker) deregister(ctx context.Context) error {
	w.regMu.Lock()
	w.state = events.WorkerStopped
	info := w.info(events.WorkerStopped)
	w.regMu.Unlock()
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.PublishTimeout)
	defer cancel()
	var errs []error
	if err := w.kv.Delete(dctx, w.cfg.ID); err != nil {
		errs = append(errs, fmt.Errorf("delete registration %s from %s: %w", w.cfg.ID, events.BucketWorkers, err))
	}
	if err := w.publishWorkerEvent(ctx, events.WorkerStopped, info); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// heartbeat refreshes the registration every HeartbeatInterval, and at once
// when kicked (a circuit breaker changed state), until ctx is done. The
// bucket's TTL removes the key of a worker that stops beating.
func (w *worker) heartbeat(ctx context.Context) {
	t := time.NewTicker(w.cfg.heartbeat())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.kick:
		}
		if _, err := w.put(ctx, ""); err != nil {
			w.log.Warn().Err(err).Msg("heartbeat failed")
		}
	}
}

// tileStats are the counters of the worker's tile cache client.
func (w *worker) tileStats() *events.WorkerTileStats {
	if w.cache == nil {
		return nil
	}
	s := w.cache.Stats()
	return &events.WorkerTileStats{
		NearHits: s.NearHits, RemoteHits: s.RemoteHits, Misses: s.Misses,
		RemoteBytes: s.RemoteBytes, StoreBytes: s.StoreBytes,
		NearBytes: s.NearBytes, NearEntries: s.NearEntries,
	}
}
