package cache

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/geocluster/geocluster/libs/events"
)

// registerTimeout bounds one write of the registration.
const registerTimeout = 5 * time.Second

// register writes the node's key in geo_cache_nodes.
func (n *node) register(ctx context.Context) error {
	data, err := json.Marshal(events.CacheNode{
		V: events.Version, ID: n.cfg.ID, MaxBytes: n.cfg.MaxBytes, Host: n.host,
		StartedAt: n.started, HeartbeatAt: time.Now().UTC(),
	})
	if err != nil {
		return fmt.Errorf("encode registration: %w", err)
	}
	// Its own deadline: a reply lost with a dying server must not stall
	// the heartbeat until the registration lapses.
	ctx, cancel := context.WithTimeout(ctx, registerTimeout)
	defer cancel()
	if _, err := n.nodesKV.Put(ctx, n.cfg.ID, data); err != nil {
		return fmt.Errorf("put registration %s in %s: %w", n.cfg.ID, events.BucketCacheNodes, err)
	}
	return nil
}

// heartbeat refreshes the registration until ctx is done; the bucket's TTL
// removes the key of a node that stops beating.
func (n *node) heartbeat(ctx context.Context) {
	t := time.NewTicker(n.cfg.heartbeat())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := n.register(ctx); err != nil && ctx.Err() == nil {
				n.log.Warn().Err(err).Msg("heartbeat failed")
			}
		}
	}
}

// deregister deletes the registration, so clients route around the node
// before it stops answering.
func (n *node) deregister(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := n.nodesKV.Delete(dctx, n.cfg.ID); err != nil {
		return fmt.Errorf("delete registration %s from %s: %w", n.cfg.ID, events.BucketCacheNodes, err)
	}
	return nil
}
